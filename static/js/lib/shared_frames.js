// The shared-frame mode of large halls (docs/protocol.md §8): the projector
// shows one frame per tick for the whole class, sealed under the session's
// projection key, which the join gives each student wrapped under their own
// session key. A scanner unwraps it once, opens the frames with it, and
// answers a frame per round — each issued at least `round_gap_seconds` after
// the frame that passed the round before — with the same proof as a code's.

import {
  associatedData, base45Decode, DecryptError, openSealed, PROTOCOL_VERSION, b64urlDecode,
} from "/static/js/lib/crypto.js";

export const PROJECTION_KEY = 3;
export const FRAME = 4;
const SEALED_BYTES = 50;
const PAYLOAD_BYTES = 22;
const KEY_BYTES = 32;

/** The projection key of `projection` (the progress's `projection`), as a CryptoKey; throws DecryptError. */
export async function unwrapProjectionKey(session, projection, { sessionId, studentId }) {
  const raw = await openSealed(session.sealKey, b64urlDecode(projection.key),
    associatedData(PROJECTION_KEY, sessionId, studentId, 0));
  if (raw.length !== KEY_BYTES) {
    throw new DecryptError("not a projection key");
  }
  return globalThis.crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["decrypt"]);
}

/** A frame's payload {sessionId, issuedAt, nonce}, or null for another shape or version. */
function unpackFrame(bytes, sessionId) {
  if (bytes.length !== PAYLOAD_BYTES) {
    return null;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint8(0) !== PROTOCOL_VERSION || view.getUint32(1) !== sessionId || view.getUint32(5) !== 0
      || view.getUint8(9) !== 0) {
    return null;
  }
  return { sessionId, issuedAt: view.getUint32(10), nonce: bytes.slice(14, 22) };
}

/**
 * One student's view of a shared-frame session: `open(text)` resolves with the
 * frame's payload or null (not a frame of this session: the join link, a
 * glare); `mayAnswer(payload)` says whether the frame is far enough after
 * the one that passed the last round; `answered(payload)` records that one.
 */
export class SharedFrames {
  #key;
  #sessionId;
  #gapSeconds;
  #lastIssuedAt;
  #seen = new Map();

  constructor(key, { sessionId, roundGapSeconds, answeredIssuedAt = null }) {
    this.#key = key;
    this.#sessionId = sessionId;
    this.#gapSeconds = roundGapSeconds;
    this.#lastIssuedAt = answeredIssuedAt;
  }

  async open(text) {
    if (!this.#seen.has(text)) {
      if (this.#seen.size >= 512) {
        this.#seen.clear();
      }
      this.#seen.set(text, await this.#open(text));
    }
    return this.#seen.get(text);
  }

  async #open(text) {
    let sealed;
    try {
      sealed = base45Decode(text);
    } catch (error) {
      if (error instanceof TypeError) {
        return null;
      }
      throw error;
    }
    if (sealed.length !== SEALED_BYTES) {
      return null;
    }
    try {
      return unpackFrame(await openSealed(this.#key, sealed, associatedData(FRAME, this.#sessionId, 0, 0)),
        this.#sessionId);
    } catch (error) {
      if (error instanceof DecryptError) {
        return null;
      }
      throw error;
    }
  }

  mayAnswer(payload) {
    return this.#lastIssuedAt === null || payload.issuedAt - this.#lastIssuedAt >= this.#gapSeconds;
  }

  answered(payload) {
    this.#lastIssuedAt = payload.issuedAt;
  }
}

/** The SharedFrames of a progress reply, or null when the session shows per-student codes. */
export async function sharedFramesOf(session, progress) {
  const { projection } = progress;
  if (projection?.mode !== "shared" || !projection.key) {
    return null;
  }
  const place = { sessionId: progress.session.id, studentId: progress.student_id };
  const key = await unwrapProjectionKey(session, projection, place);
  return new SharedFrames(key, {
    sessionId: place.sessionId,
    roundGapSeconds: projection.round_gap_seconds,
    answeredIssuedAt: projection.answered_issued_at,
  });
}
