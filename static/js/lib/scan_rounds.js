// A student's rounds in one class session (docs/protocol.md §2–3, §6):
// open each decoded text with this phone's session key to find the
// student's own codes among everything projected, answer the current
// round's at once with its proof, move on with the server's reply.

import {
  associatedData, b64urlEncode, base45Decode, CODE, DecryptError, openSealed, PROOF, PROTOCOL_VERSION, seal,
} from "./crypto.js";
import { sharedFramesOf } from "./shared_frames.js";

// --- own codes among everything projected ---------------------------------------------------

const SEALED_BYTES = 50;
const PAYLOAD_BYTES = 22;
// Decoys and other students' codes come round again and again: remember what each text was.
const REMEMBERED_TEXTS = 512;

/** The 22-byte payload (§2.1): {sessionId, studentId, round, issuedAt, nonce}, or null for an unknown version. */
export function unpackPayload(bytes) {
  if (bytes.length !== PAYLOAD_BYTES) {
    return null;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint8(0) !== PROTOCOL_VERSION) {
    return null;
  }
  return {
    sessionId: view.getUint32(1),
    studentId: view.getUint32(5),
    round: view.getUint8(9),
    issuedAt: view.getUint32(10),
    nonce: bytes.slice(14, 22),
  };
}

/**
 * Opens projected texts with one session key (§2.3). `open(text, place)`
 * resolves with the payload when the text is sealed for this phone and
 * `place` ({sessionId, studentId, round}), else null: not base45, not 50
 * bytes, or a tag that does not verify (a decoy, someone else's code,
 * another round's — the normal case, skipped silently).
 */
export class OwnCodes {
  #sealKey;
  #seen = new Map();

  constructor(session) {
    this.#sealKey = session.sealKey;
  }

  async open(text, place) {
    const remembered = `${place.sessionId}|${place.studentId}|${place.round}|${text}`;
    if (this.#seen.has(remembered)) {
      return this.#seen.get(remembered);
    }
    const payload = await this.#open(text, place);
    if (this.#seen.size >= REMEMBERED_TEXTS) {
      this.#seen.clear();
    }
    this.#seen.set(remembered, payload);
    return payload;
  }

  async #open(text, { sessionId, studentId, round }) {
    let sealed;
    try {
      sealed = base45Decode(text);
    } catch (error) {
      if (error instanceof TypeError) {
        return null; // not one of the rotating codes (a join link, say)
      }
      throw error;
    }
    if (sealed.length !== SEALED_BYTES) {
      return null;
    }
    try {
      const associated = associatedData(CODE, sessionId, studentId, round);
      return unpackPayload(await openSealed(this.#sealKey, sealed, associated));
    } catch (error) {
      if (error instanceof DecryptError) {
        return null;
      }
      throw error;
    }
  }
}

/** The sealed proof (§3) that this phone saw the code with `payload`, now (the phone's clock, never trusted). */
export async function proofFor(session, payload, nowMs = Date.now()) {
  const proof = { nonce: b64urlEncode(payload.nonce), client_time: Math.round(nowMs) };
  const associated = associatedData(PROOF, payload.sessionId, payload.studentId, payload.round);
  const sealed = await seal(session.sealKey, new TextEncoder().encode(JSON.stringify(proof)), associated);
  return b64urlEncode(sealed);
}

// --- the rounds ------------------------------------------------------------------------------

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
