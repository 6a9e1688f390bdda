// A student's rounds in one class session (docs/protocol.md §6): remember
// the own codes the camera sees, answer the current round's at once, move
// on with the server's reply.

import { sharedFramesOf } from "./shared_frames.js";
import { OwnCodes, proofFor } from "./own_codes.js";

// A code may expire 5 s after its last showing (a quarter of its window):
// a sighting older than this is not worth an attempt.
const SIGHTING_MAX_AGE_MS = 4000;

export class ScanRounds {
  #session;
  #codes;
  #send;
  #onAnswered;
  #onRefused;
  #sightings = new Map();
  #answered = new Set();
  #answering = false;
  #frames = Promise.resolve(null); // the session's SharedFrames in the shared-frame mode

  /**
   * session: the device login's keys ({sealKey}); send(body): the
   * `scan` call, resolving with its reply; onAnswered(reply) after each
   * accepted scan; onRefused(error) after each refusal.
   */
  constructor({ session, send, onAnswered, onRefused }) {
    this.#session = session;
    this.#codes = new OwnCodes(session);
    this.#send = send;
    this.#onAnswered = onAnswered;
    this.#onRefused = onRefused;
    this.sessionId = null;
    this.studentId = null;
    this.rounds = 0;
    this.currentRound = 0;
    this.state = null;
  }

  /**
   * Take the student's progress as the server states it (join, status).
   * Rounds never go back, so a progress behind the round this page already
   * passed was read before that scan landed (a rejoin answered after a scan
   * over REST): it is ignored, and false returned, lest the page answer a
   * past round (ROUND_MISMATCH) or anchor the next frame on an old one
   * (FRAME_TOO_SOON), both of which cost an attempt.
   */
  follow(progress) {
    if (progress.session.id === this.sessionId && progress.current_round < this.currentRound) {
      return false;
    }
    // In the shared-frame mode every progress says which frame passed the last round.
    if (progress.session.id !== this.sessionId || progress.projection?.mode === "shared") {
      this.#frames = sharedFramesOf(this.#session, progress);
    }
    this.sessionId = progress.session.id;
    this.studentId = progress.student_id;
    this.rounds = progress.session.rounds;
    this.currentRound = progress.current_round;
    this.state = progress.state;
    return true;
  }

  /**
   * Look at one frame's texts: remember own codes by round, answer the current round's.
   * Every showing of a code is a new text of the same payload, so a code is known by its
   * round and nonce: a new text of a code already answered is not answered again.
   * Resolves with how many of the texts were this student's codes.
   */
  async see(texts) {
    const now = performance.now();
    let own = 0;
    const frames = await this.#frames;
    if (frames !== null) {
      for (const text of texts) {
        const frame = await frames.open(text);
        if (frame !== null) {
          own += 1;
          if (frames.mayAnswer(frame)) {
            const payload = { ...frame, studentId: this.studentId, round: this.currentRound };
            this.#sightings.set(this.currentRound, { text, payload, seenAt: now, frame });
          }
        }
      }
      await this.#answer();
      return own;
    }
    // The next round's code is looked for too: it can reach the screen before this reply.
    const lastRound = Math.min(this.currentRound + 1, this.rounds);
    for (const text of texts) {
      for (let round = this.currentRound; round <= lastRound; round += 1) {
        const place = { sessionId: this.sessionId, studentId: this.studentId, round };
        const payload = await this.#codes.open(text, place);
        if (payload !== null) {
          own += 1;
          if (!this.#answered.has(codeName(payload))) {
            this.#sightings.set(round, { text, payload, seenAt: now });
          }
          break;
        }
      }
    }
    await this.#answer();
    return own;
  }

  /** Forget what was seen (a new device login, a reset: the codes on screen change). */
  forgetSightings() {
    this.#sightings.clear();
  }

  async #answer() {
    while (this.state === "scanning" && !this.#answering) {
      const sighting = this.#sightings.get(this.currentRound);
      if (sighting === undefined) {
        return;
      }
      this.#sightings.delete(this.currentRound);
      if (performance.now() - sighting.seenAt > SIGHTING_MAX_AGE_MS) {
        continue;
      }
      this.#answering = true;
      try {
        const proof = await proofFor(this.#session, sighting.payload);
        const reply = await this.#send({ session: this.sessionId, qr: sighting.text, proof });
        this.#answered.add(codeName(sighting.payload));
        if (sighting.frame !== undefined) {
          (await this.#frames).answered(sighting.frame);
        }
        for (const round of this.#sightings.keys()) {
          if (round <= reply.round) {
            this.#sightings.delete(round); // later showings of the code just answered
          }
        }
        if (reply.result === "completed") {
          this.state = "completed";
        } else {
          this.currentRound = reply.next_round;
        }
        this.#onAnswered(reply);
      } catch (error) {
        this.#onRefused(error);
        return;
      } finally {
        this.#answering = false;
      }
    }
  }
}

/** A code as the scanner knows it: its round and nonce (each showing has another text). */
function codeName(payload) {
  return `${payload.round}:${Array.from(payload.nonce, (byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}
