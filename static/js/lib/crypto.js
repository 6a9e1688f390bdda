// The browser twin of asistencia/crypto.py (SPEC §5), byte for byte, on WebCrypto.
//
// Keys stay in memory as CryptoKeys; the ones that matter are not
// extractable. The raw session key exists only for a moment inside
// deriveSessionKey (WebCrypto cannot derive an HKDF base key from another
// key), and is overwritten before the function returns.

const subtle = globalThis.crypto.subtle;
const encoder = new TextEncoder();

export const SESSION_INFO = "asistencia/session/v1|";
export const TOTP_INFO = "asistencia/totp/v1";
export const TOTP_STEP_SECONDS = 30;
export const TOTP_DIGITS = 6;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
export const P256_RAW_BYTES = 65;

const EMPTY = new Uint8Array(0);
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

async function hkdfSha256Bits(secret, info) {
  const base = await subtle.importKey("raw", secret, "HKDF", false, ["deriveBits"]);
  const params = { name: "HKDF", hash: "SHA-256", salt: EMPTY, info: encoder.encode(info) };
  return new Uint8Array(await subtle.deriveBits(params, base, 256));
}

/**
 * session_key = HKDF-SHA256(ECDH(own, peer), salt="", info="asistencia/session/v1|" + credentialId)
 * where credentialId is the base64url text. Returns {sealKey, totpKey}: the
 * session key as a non-extractable AES-256-GCM key (for seal/openSealed) and
 * the TOTP key HKDF-derived from it as a non-extractable HMAC-SHA256 key (for totpAt).
 */
export async function deriveSessionKey(ownPrivateKey, peerPublicRaw, credentialId) {
  const peer = await importPublicKeyRaw(peerPublicRaw);
  const shared = new Uint8Array(await subtle.deriveBits({ name: "ECDH", public: peer }, ownPrivateKey, 256));
  const sessionKey = await hkdfSha256Bits(shared, SESSION_INFO + credentialId);
  shared.fill(0);
  try {
    const sealKey = await subtle.importKey("raw", sessionKey, "AES-GCM", false, ["encrypt", "decrypt"]);
    const totpBase = await subtle.importKey("raw", sessionKey, "HKDF", false, ["deriveKey"]);
    const totpKey = await subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: EMPTY, info: encoder.encode(TOTP_INFO) },
      totpBase,
      { name: "HMAC", hash: "SHA-256", length: 256 },
      false,
      ["sign"],
    );
    return Object.freeze({ sealKey, totpKey });
  } finally {
    sessionKey.fill(0);
  }
}

/** The WebAuthn challenge of a device login: SHA-256(serverChallenge || clientPublicRaw). */
export async function loginChallenge(serverChallenge, clientPublicRaw) {
  return new Uint8Array(await subtle.digest("SHA-256", concat(serverChallenge, clientPublicRaw)));
}

// --- TOTP (RFC 6238 with HMAC-SHA256) ------------------------------------------

/** The 6-digit code of `unixSeconds` under an HMAC-SHA256 CryptoKey. */
export async function totpAt(key, unixSeconds) {
  const counter = Math.floor(Math.trunc(unixSeconds) / TOTP_STEP_SECONDS);
  const message = new DataView(new ArrayBuffer(8));
  message.setBigUint64(0, BigInt(counter));
  const digest = new Uint8Array(await subtle.sign("HMAC", key, message));
  const offset = digest[digest.length - 1] & 0x0f;
  const code = new DataView(digest.buffer, offset, 4).getUint32(0) & 0x7fffffff;
  return String(code % 10 ** TOTP_DIGITS).padStart(TOTP_DIGITS, "0");
}

// --- AES-256-GCM -----------------------------------------------------------------

/** iv (12) || ciphertext || tag (16). */
export async function seal(key, plaintext) {
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = new Uint8Array(await subtle.encrypt({ name: "AES-GCM", iv }, key, plaintext));
  return concat(iv, sealed);
}

/** The plaintext of a sealed blob; throws DecryptError when it does not open under `key`. */
export async function openSealed(key, blob) {
  if (blob.length < IV_BYTES + TAG_BYTES) {
    throw new DecryptError("too short");
  }
  try {
    const iv = blob.subarray(0, IV_BYTES);
    return new Uint8Array(await subtle.decrypt({ name: "AES-GCM", iv }, key, blob.subarray(IV_BYTES)));
  } catch (error) {
    throw error.name === "OperationError" ? new DecryptError("does not open under this key") : error;
  }
}
