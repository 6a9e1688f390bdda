// A student's phone: its identifier, passkey enrollment, and the device login
// that gives this document the session key (SPEC §3.1, §3.2).
//
// Where the session key lives, and how the scanner gets it: in this
// module's memory, as non-extractable CryptoKeys, and kept in IndexedDB
// for its owner (kept_session.js; what is kept and why: docs/phone-storage.md)
// so that a reload, the device page's login or the join link opened later
// the same day need no new touch of the passkey. Never in localStorage or
// sessionStorage. A new login replaces the server's key, so the newest login
// is the one that scans.
//
//   const state = await readAccessState(api);      // NOT_ENROLLED, ENROLLED_NO_SESSION, READY, BLOCKED
//   await enrollDevice(api);                       // passkey created and verified; other phones revoked
//   const session = await loginDevice(api, {owner}); // {sealKey, credentialId, expiresAt}, kept for owner
//   await restoreSession(owner);                   // after a reload: the kept session, or null
//   currentSession();                              // the same session, or null once expired or forgotten
//
// Passkey failures are PasskeyErrors; the server's refusals are api.js
// ApiErrors. Both carry a `code` the page turns into a message.

import {
  b64urlDecode,
  b64urlEncode,
  deriveSessionKey,
  loginChallenge,
  newEcdhKeyPair,
  publicKeyRaw,
} from "./crypto.js";
import { dropKeptSession, keepSession, keptSession } from "./kept_session.js";

const FINGERPRINT_KEY = "asistencia.device-id";

/**
 * A passkey ceremony that did not give a credential. `code`:
 * PASSKEY_UNSUPPORTED (no WebAuthn here), PASSKEY_CANCELLED (the user
 * cancelled, it timed out, or no matching passkey is on this phone — WebAuthn
 * deliberately reports all three alike), PASSKEY_ALREADY_HERE (this phone
 * already holds the enrolled passkey), PASSKEY_BLOCKED (the browser refused
 * this origin), PASSKEY_FAILED (anything else).
 */
export class PasskeyError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "PasskeyError";
    this.code = code;
  }
}

let fallbackFingerprint = null;

/**
 * This phone's identifier for the server: a random UUID made on first use
 * and kept in localStorage.
 *
 * Random rather than computed from the device (user agent, screen, canvas…):
 * it identifies nothing about the person or the hardware, cannot be
 * recomputed by anyone else, and does not change when the browser updates.
 * It is not a security boundary — the passkey is — it only lets the server
 * tell "the enrolled phone" from "another phone" and give the right advice
 * before any passkey prompt. Clearing the site's data (or a private window)
 * makes a new one: the server then sees another phone (BLOCKED,
 * OTHER_DEVICE) and enrolling again settles it.
 */
export function deviceFingerprint(storage = globalThis.localStorage) {
  try {
    let id = storage.getItem(FINGERPRINT_KEY);
    if (!id) {
      id = crypto.randomUUID();
      storage.setItem(FINGERPRINT_KEY, id);
    }
    return id;
  } catch {
    // Storage disabled: one id for this document, which is all the server can be told.
    fallbackFingerprint ??= crypto.randomUUID();
    return fallbackFingerprint;
  }
}

/**
 * "UNSUPPORTED" (no WebAuthn in this browser or context), "NO_SCREEN_LOCK"
 * (WebAuthn, but no platform authenticator with user verification: a
 * passkey cannot be made on this device), or "READY".
 */
export async function passkeySupport() {
  if (!globalThis.isSecureContext || !globalThis.PublicKeyCredential || !navigator.credentials) {
    return "UNSUPPORTED";
  }
  const platform = await PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable().catch(() => false);
  return platform ? "READY" : "NO_SCREEN_LOCK";
}

/** GET /api/access/state for this phone: {state, next_action, reason, device, session_expires_at}. */
export function readAccessState(api) {
  return api.get(`/api/access/state?fingerprint=${encodeURIComponent(deviceFingerprint())}`);
}

// --- WebAuthn JSON (base64url) <-> the browser's ArrayBuffers ------------------------

function descriptor(json) {
  return { ...json, id: b64urlDecode(json.id) };
}

function creationOptions(json) {
  return {
    ...json,
    challenge: b64urlDecode(json.challenge),
    user: { ...json.user, id: b64urlDecode(json.user.id) },
    excludeCredentials: (json.excludeCredentials ?? []).map(descriptor),
  };
}

function requestOptions(json, challenge) {
  return { ...json, challenge, allowCredentials: (json.allowCredentials ?? []).map(descriptor) };
}

const b64 = (buffer) => b64urlEncode(new Uint8Array(buffer));

// The standard JSON form (what PublicKeyCredential.toJSON() gives), built by
// hand because toJSON() is missing on browsers phones still run.
function credentialJson(credential, response) {
  return {
    id: credential.id,
    rawId: b64(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment ?? null,
    clientExtensionResults: credential.getClientExtensionResults(),
    response,
  };
}

function registrationJson(credential) {
  const { response } = credential;
  return credentialJson(credential, {
    clientDataJSON: b64(response.clientDataJSON),
    attestationObject: b64(response.attestationObject),
    transports: response.getTransports?.() ?? [],
  });
}

function assertionJson(credential) {
  const { response } = credential;
  return credentialJson(credential, {
    clientDataJSON: b64(response.clientDataJSON),
    authenticatorData: b64(response.authenticatorData),
    signature: b64(response.signature),
    userHandle: response.userHandle ? b64(response.userHandle) : null,
  });
}

const CEREMONY_ERRORS = {
  NotAllowedError: "PASSKEY_CANCELLED",
  AbortError: "PASSKEY_CANCELLED",
  InvalidStateError: "PASSKEY_ALREADY_HERE",
  SecurityError: "PASSKEY_BLOCKED",
};

async function ceremony(run) {
  if (!globalThis.PublicKeyCredential || !navigator.credentials) {
    throw new PasskeyError("PASSKEY_UNSUPPORTED", "WebAuthn is not available in this browser");
  }
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof DOMException)) {
      throw error;
    }
    throw new PasskeyError(CEREMONY_ERRORS[error.name] ?? "PASSKEY_FAILED", `${error.name}: ${error.message}`);
  }
}

// --- enrollment and login -----------------------------------------------------------------

let session = null;

/**
 * Enroll this phone: creation options, a new passkey, verification. The
 * server revokes the student's other devices and ends any login, so a
 * session held here is forgotten. Resolves with the enrolled device.
 */
export async function enrollDevice(api) {
  const fingerprint = deviceFingerprint();
  const options = await api.post("/api/enrollment/options", { fingerprint });
  const credential = await ceremony(() => navigator.credentials.create({ publicKey: creationOptions(options) }));
  const { device } = await api.post("/api/enrollment/verify",
                                    { credential: registrationJson(credential), fingerprint });
  forgetSession();
  return device;
}

/**
 * The device login: an ephemeral ECDH pair, an assertion over
 * SHA-256(server challenge ‖ our public key), and the session key derived
 * here from the server's public key. Resolves with the session (also
 * `currentSession()`, and kept for `owner`, the student's user id, across
 * reloads): `{sealKey, credentialId, expiresAt}`, `expiresAt` in unix seconds.
 */
export async function loginDevice(api, { owner }) {
  const keyPair = await newEcdhKeyPair();
  const clientPublic = await publicKeyRaw(keyPair);
  const options = await api.post("/api/login/options", {});
  const challenge = await loginChallenge(b64urlDecode(options.challenge), clientPublic);
  const credential = await ceremony(() => navigator.credentials.get({ publicKey: requestOptions(options, challenge) }));
  const reply = await api.post("/api/login/verify", {
    credential: assertionJson(credential),
    client_public_key: b64urlEncode(clientPublic),
  });
  const keys = await deriveSessionKey(keyPair.privateKey, b64urlDecode(reply.server_public_key), credential.id);
  session = Object.freeze({ ...keys, credentialId: credential.id, expiresAt: reply.expires_at });
  await keepSession(session, owner);
  return session;
}

/** The session of this document's last login, or null (none, expired, or forgotten). */
export function currentSession(nowSeconds = Date.now() / 1000) {
  if (session !== null && nowSeconds >= session.expiresAt) {
    session = null;
  }
  return session;
}

/** The session kept on this phone for `owner` (a reload), made current; null when none is kept or it expired. */
export async function restoreSession(owner) {
  session ??= await keptSession(owner);
  return currentSession();
}

/** Drop the session here and on the phone (the server says there is none, or the device is gone). */
export function forgetSession() {
  session = null;
  dropKeptSession();
}

/** End the device login on the server (DELETE /api/login) and here. */
export async function logoutDevice(api) {
  await api.delete("/api/login");
  forgetSession();
}
