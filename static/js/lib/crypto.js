// The browser twin of asistencia/crypto.py (SPEC §5), byte for byte, on WebCrypto.
//
// Keys stay in memory as CryptoKeys; the ones that matter are not
// extractable. The raw session key exists only for a moment inside
// deriveSessionKey (WebCrypto cannot derive an HKDF base key from another
// key), and is overwritten before the function returns.

const subtle = globalThis.crypto.subtle;
const encoder = new TextEncoder();

export const PROTOCOL_VERSION = 2;
export const HKDF_SALT = "asistencia/protocol/v2";
export const SESSION_INFO = "asistencia/session/v2|";
// Message kinds in the associated data: a code never opens as a proof, nor a proof as a code.
export const CODE = 1;
export const PROOF = 2;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
export const P256_RAW_BYTES = 65;

const ECDH = { name: "ECDH", namedCurve: "P-256" };

/** Ciphertext that does not open under this key (not ours, or tampered). */
export class DecryptError extends Error {
  constructor(message) {
    super(message);
    this.name = "DecryptError";
  }
}

// --- encodings ---------------------------------------------------------------

const B64URL = /^[A-Za-z0-9_-]*$/;

export function b64urlEncode(bytes) {
  let binary = "";
  for (const byte of bytes) {
    binary += String.fromCharCode(byte);
  }
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Strict base64url without padding; throws TypeError on anything else. */
export function b64urlDecode(text) {
  if (typeof text !== "string" || !B64URL.test(text) || text.length % 4 === 1) {
    throw new TypeError("not base64url");
  }
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

// RFC 9285 base45: QR alphanumeric mode stores 45 symbols at 5.5 bits each.
export const BASE45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

export function base45Encode(bytes) {
  let out = "";
  const symbol = (n) => BASE45_ALPHABET[n];
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    const n = bytes[i] * 256 + bytes[i + 1];
    out += symbol(n % 45) + symbol(Math.floor(n / 45) % 45) + symbol(Math.floor(n / 2025));
  }
  if (bytes.length % 2) {
    const last = bytes[bytes.length - 1];
    out += symbol(last % 45) + symbol(Math.floor(last / 45));
  }
  return out;
}

/** Throws TypeError unless `text` is valid base45. */
export function base45Decode(text) {
  const values = Array.from(text, (c) => BASE45_ALPHABET.indexOf(c));
  if (values.includes(-1) || values.length % 3 === 1) {
    throw new TypeError("not base45");
  }
  const out = [];
  for (let i = 0; i < values.length; i += 3) {
    if (i + 2 < values.length) {
      const n = values[i] + values[i + 1] * 45 + values[i + 2] * 2025;
      if (n > 0xffff) {
        throw new TypeError("not base45");
      }
      out.push(n >> 8, n & 0xff);
    } else {
      const n = values[i] + values[i + 1] * 45;
      if (n > 0xff) {
        throw new TypeError("not base45");
      }
      out.push(n);
    }
  }
  return Uint8Array.from(out);
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

// --- key agreement and derivation ----------------------------------------------

/** An ephemeral ECDH P-256 pair; the private key cannot be exported. */
export function newEcdhKeyPair() {
  return subtle.generateKey(ECDH, false, ["deriveBits"]);
}

/** The uncompressed point (0x04 || X || Y), 65 bytes, as Python's public_key_raw. */
export async function publicKeyRaw(keyPair) {
  return new Uint8Array(await subtle.exportKey("raw", keyPair.publicKey));
}

/** Throws TypeError unless `raw` is a 65-byte uncompressed point on P-256. */
export async function importPublicKeyRaw(raw) {
  if (raw.length !== P256_RAW_BYTES || raw[0] !== 4) {
    throw new TypeError("expected a 65-byte uncompressed P-256 point");
  }
  try {
    return await subtle.importKey("raw", raw, ECDH, true, []);
  } catch (error) {
    throw error.name === "DataError" ? new TypeError("not a point on P-256") : error;
  }
}

/**
 * session_key = HKDF-SHA256(ECDH(own, peer), salt="asistencia/protocol/v2",
 * info="asistencia/session/v2|" + credentialId) where credentialId is the
 * base64url text. Returns {sealKey}: the session key as a non-extractable
 * AES-256-GCM key (for seal/openSealed). The HKDF runs inside WebCrypto, so
 * the key's bytes never reach script.
 */
export async function deriveSessionKey(ownPrivateKey, peerPublicRaw, credentialId) {
  const peer = await importPublicKeyRaw(peerPublicRaw);
  const shared = new Uint8Array(await subtle.deriveBits({ name: "ECDH", public: peer }, ownPrivateKey, 256));
  try {
    const base = await subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
    const params = { name: "HKDF", hash: "SHA-256", salt: encoder.encode(HKDF_SALT),
                     info: encoder.encode(SESSION_INFO + credentialId) };
    const sealKey = await subtle.deriveKey(params, base, { name: "AES-GCM", length: 256 }, false,
                                           ["encrypt", "decrypt"]);
    return Object.freeze({ sealKey });
  } finally {
    shared.fill(0);
  }
}

/** The WebAuthn challenge of a device login: SHA-256(serverChallenge || clientPublicRaw). */
export async function loginChallenge(serverChallenge, clientPublicRaw) {
  return new Uint8Array(await subtle.digest("SHA-256", concat(serverChallenge, clientPublicRaw)));
}

// --- AES-256-GCM -----------------------------------------------------------------

/**
 * What a code or proof is about, bound to it without being sent (11 bytes, big-endian):
 * protocol version u8 | kind u8 (CODE or PROOF) | session u32 | student u32 | round u8.
 */
export function associatedData(kind, sessionId, studentId, round) {
  const view = new DataView(new ArrayBuffer(11));
  view.setUint8(0, PROTOCOL_VERSION);
  view.setUint8(1, kind);
  view.setUint32(2, sessionId);
  view.setUint32(6, studentId);
  view.setUint8(10, round);
  return new Uint8Array(view.buffer);
}

/** iv (12) || ciphertext || tag (16), with `associated` authenticated but not included. */
export async function seal(key, plaintext, associated) {
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const params = { name: "AES-GCM", iv, additionalData: associated };
  const sealed = new Uint8Array(await subtle.encrypt(params, key, plaintext));
  return concat(iv, sealed);
}

/** The plaintext of a sealed blob; throws DecryptError unless it was sealed under `key` with `associated`. */
export async function openSealed(key, blob, associated) {
  if (blob.length < IV_BYTES + TAG_BYTES) {
    throw new DecryptError("too short");
  }
  try {
    const params = { name: "AES-GCM", iv: blob.subarray(0, IV_BYTES), additionalData: associated };
    return new Uint8Array(await subtle.decrypt(params, key, blob.subarray(IV_BYTES)));
  } catch (error) {
    throw error.name === "OperationError" ? new DecryptError("does not open under this key") : error;
  }
}
