// The day's device login kept on the phone across reloads (docs/phone-storage.md):
// the session key as a non-extractable CryptoKey in IndexedDB, beside the
// credential id, its expiry and the student it belongs to.
//
// IndexedDB stores a CryptoKey by structured clone, keeping it
// non-extractable: a script on this origin can seal and open with it while
// it lives, but no one — not an extension, not injected script, not the
// student — can read its bytes out to another device. Nothing else of the
// login is kept: the ECDH private key is gone once the key is derived, the
// passkey never leaves the authenticator, tokens live elsewhere.
//
// Every call resolves, whatever the browser allows: without IndexedDB (a
// private window, storage disabled) a reload simply means a new login.

const DATABASE = "asistencia";
const STORE = "device-login";
const KEY = "current";

function openDatabase() {
  return new Promise((resolve, reject) => {
    const request = globalThis.indexedDB.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Run one request on the store in a transaction of `mode`; resolves with its result (undefined on any failure). */
async function onStore(mode, use) {
  let database;
  try {
    database = await openDatabase();
    return await new Promise((resolve, reject) => {
      const transaction = database.transaction(STORE, mode);
      const request = use(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  } catch {
    return undefined;
  } finally {
    database?.close();
  }
}

/** Keep `session` ({sealKey, credentialId, expiresAt}) for `owner` (the student's user id). */
export async function keepSession(session, owner) {
  await onStore("readwrite", (store) => store.put({ ...session, owner }, KEY));
}

/** The session kept for `owner` that has not expired at `nowSeconds`, or null (dropping any other). */
export async function keptSession(owner, nowSeconds = Date.now() / 1000) {
  const kept = await onStore("readonly", (store) => store.get(KEY));
  if (!kept) {
    return null;
  }
  if (kept.owner !== owner || nowSeconds >= kept.expiresAt || !(kept.sealKey instanceof CryptoKey)) {
    await dropKeptSession();
    return null;
  }
  return { sealKey: kept.sealKey, credentialId: kept.credentialId, expiresAt: kept.expiresAt };
}

/**
 * Until when (unix seconds) a device login is kept on this phone, whoever it
 * belongs to, or null: for a page without a token (offline), which can only
 * say that one is kept. Drops nothing; `keptSession` judges the owner later.
 */
export async function keptUntil(nowSeconds = Date.now() / 1000) {
  const kept = await onStore("readonly", (store) => store.get(KEY));
  return kept && nowSeconds < kept.expiresAt ? kept.expiresAt : null;
}

export async function dropKeptSession() {
  await onStore("readwrite", (store) => store.delete(KEY));
}
