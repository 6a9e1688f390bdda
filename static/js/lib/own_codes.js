// A student's own codes among everything projected (docs/protocol.md §2–3):
// open each decoded text with this phone's session key, read the payload,
// and build the proof that answers it.

import {
  associatedData, b64urlEncode, base45Decode, CODE, DecryptError, openSealed, PROOF, PROTOCOL_VERSION, seal,
} from "./crypto.js";

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
