// The JSON API from a page: a short-lived JWT, fetched and refreshed on its
// own, and one error type for everything that can go wrong.
//
// Tokens come from the page's `token_url` (#app-config). In production that
// is the legacy PHP endpoint, which answers GET with {"token": "<jwt>"} for
// the PHP session cookie. In dev mode it is POST /api/dev/token, and the
// identity is chosen with query parameters (remembered for the tab):
//   ?as=profesor|alumno|admin   the role (a new `as` forgets the old choice)
//   &user_id=1001               optional; default: the role's demo user
//   &ttl=20                     optional token lifetime in seconds, to try expiry

import { b64urlDecode } from "./crypto.js";

const ROLES = ["alumno", "profesor", "admin"];
const DEV_IDENTITY_KEY = "asistencia.dev-identity";
// Refresh this long before `exp` (a quarter of the lifetime for short tokens).
const REFRESH_MARGIN_SECONDS = 30;

/**
 * Every failure of an API call. `code` is the server's UPPER_SNAKE code, or
 * one of the client's own: NETWORK_ERROR (no answer), TOKEN_UNAVAILABLE
 * (the token endpoint refused: the user must log in again), HTTP_<status>
 * (an answer that is not our error shape); over the WebSocket also
 * NOT_CONNECTED, CONNECTION_LOST and TIMEOUT. `status` is 0 without an HTTP answer.
 */
export class ApiError extends Error {
  constructor(status, code, message, fields = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.fields = fields;
  }

  /** No usable token: refreshing did not help, the user has to log in again. */
  get isTokenError() {
    return this.code.startsWith("TOKEN_");
  }

  /** The error of a non-2xx response, from {"error": {"code", "message", "fields"}} when it has that shape. */
  static async fromResponse(response) {
    let body = null;
    try {
      body = await response.json();
    } catch {
      // not JSON: a proxy's error page, say
    }
    const error = body?.error;
    if (error && typeof error.code === "string") {
      return new ApiError(response.status, error.code, error.message ?? error.code, error.fields ?? null);
    }
    return new ApiError(response.status, `HTTP_${response.status}`, response.statusText || `HTTP ${response.status}`);
  }

  /** The `error` object of a WebSocket error reply (no HTTP status: 0). */
  static fromJson(error) {
    return new ApiError(0, error?.code ?? "UNKNOWN_ERROR", error?.message ?? "", error?.fields ?? null);
  }
}

async function send(url, init) {
  try {
    return await fetch(url, { credentials: "same-origin", cache: "no-store", ...init });
  } catch (error) {
    if (error.name === "AbortError") {
      throw error;
    }
    throw new ApiError(0, "NETWORK_ERROR", `No answer from the server (${error.message})`);
  }
}

/**
 * Dev mode: the identity picked with ?as=…&user_id=…&ttl=… (see the top of
 * this file), remembered in sessionStorage so it survives navigation in the
 * tab. Without a choice, `{role: fallbackRole}`.
 */
export function devIdentity({ search = location.search, storage = sessionStorage, fallbackRole = "alumno" } = {}) {
  const query = new URLSearchParams(search);
  const role = query.get("as");
  if (ROLES.includes(role)) {
    const identity = { role };
    for (const [param, field] of [["user_id", "user_id"], ["ttl", "ttl_seconds"]]) {
      if (/^\d+$/.test(query.get(param) ?? "")) {
        identity[field] = Number(query.get(param));
      }
    }
    storage.setItem(DEV_IDENTITY_KEY, JSON.stringify(identity));
    return identity;
  }
  try {
    const remembered = JSON.parse(storage.getItem(DEV_IDENTITY_KEY));
    if (ROLES.includes(remembered?.role)) {
      return remembered;
    }
  } catch {
    // nothing usable remembered
  }
  return { role: fallbackRole };
}

function claimsOf(token) {
  try {
    return JSON.parse(new TextDecoder().decode(b64urlDecode(token.split(".")[1])));
  } catch {
    throw new ApiError(0, "TOKEN_UNAVAILABLE", "The token endpoint answered something that is not a JWT");
  }
}

/**
 * The page's JWT: fetched when first needed, kept until shortly before its
 * `exp`, refreshed once for any number of concurrent callers.
 * `get()` gives a token believed fresh; `refresh(stale)` replaces `stale`
 * (or gives the token someone else already fetched to replace it).
 * Both reject with an ApiError (TOKEN_UNAVAILABLE or NETWORK_ERROR).
 */
export class TokenSource {
  #url;
  #dev;
  #identity;
  #token = null;
  #claims = null;
  #refreshAt = 0;
  #pending = null;

  constructor({ url, dev = false, identity = {} }) {
    this.#url = url;
    this.#dev = dev;
    this.#identity = identity;
  }

  /** The claims of the current token (userId, username, rol, exp, …), or null before the first fetch. */
  get claims() {
    return this.#claims;
  }

  async get() {
    if (this.#token !== null && Date.now() / 1000 < this.#refreshAt) {
      return this.#token;
    }
    return this.refresh(this.#token);
  }

  async refresh(stale = this.#token) {
    if (this.#token !== null && this.#token !== stale) {
      return this.#token;
    }
    this.#pending ??= this.#fetch().finally(() => {
      this.#pending = null;
    });
    return this.#pending;
  }

  async #fetch() {
    const response = this.#dev
      ? await send(this.#url, {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: JSON.stringify(this.#identity),
        })
      : await send(this.#url, { headers: { Accept: "application/json" } });
    if (!response.ok) {
      const refused = await ApiError.fromResponse(response);
      throw new ApiError(response.status, "TOKEN_UNAVAILABLE", `No token from ${this.#url}: ${refused.message}`);
    }
    let token;
    try {
      ({ token } = await response.json());
    } catch {
      token = undefined;
    }
    if (typeof token !== "string") {
      throw new ApiError(response.status, "TOKEN_UNAVAILABLE", `No token in the answer of ${this.#url}`);
    }
    const claims = claimsOf(token);
    if (typeof claims.exp === "number") {
      const lifetime = typeof claims.iat === "number" ? claims.exp - claims.iat : Infinity;
      this.#refreshAt = claims.exp - Math.min(REFRESH_MARGIN_SECONDS, lifetime / 4);
    } else {
      this.#refreshAt = 0;
    }
    this.#token = token;
    this.#claims = claims;
    return token;
  }
}

/**
 * JSON calls with the bearer token. A 401 whose code starts with TOKEN_
 * (expired, say: a phone whose clock runs late believes its token is still
 * good) gets one token refresh and one retry; whatever happens then is
 * thrown as an ApiError. Resolves with the parsed JSON (text for non-JSON
 * answers such as CSV, null for 204), or with `raw: true` the successful
 * Response itself (for downloads, whose bytes — a CSV's BOM, say — must
 * reach the file untouched: text() would decode them).
 */
export class ApiClient {
  constructor(tokens) {
    this.tokens = tokens;
  }

  get(path, options) {
    return this.request("GET", path, options);
  }

  post(path, body, options) {
    return this.request("POST", path, { ...options, body });
  }

  put(path, body, options) {
    return this.request("PUT", path, { ...options, body });
  }

  patch(path, body, options) {
    return this.request("PATCH", path, { ...options, body });
  }

  delete(path, options) {
    return this.request("DELETE", path, options);
  }

  async request(method, path, { body, signal, raw = false } = {}) {
    let token = await this.tokens.get();
    let response = await this.#send(method, path, body, token, signal);
    if (!response.ok) {
      const error = await ApiError.fromResponse(response);
      if (response.status !== 401 || !error.isTokenError) {
        throw error;
      }
      token = await this.tokens.refresh(token);
      response = await this.#send(method, path, body, token, signal);
      if (!response.ok) {
        throw await ApiError.fromResponse(response);
      }
    }
    if (raw) {
      return response;
    }
    if (response.status === 204) {
      return null;
    }
    const type = response.headers.get("Content-Type") ?? "";
    return type.includes("json") ? response.json() : response.text();
  }

  #send(method, path, body, token, signal) {
    const headers = { Accept: "application/json", Authorization: `Bearer ${token}` };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
    }
    return send(path, { method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body) });
  }
}

let page = null;

/**
 * The page's {tokens, api}, configured from #app-config (token_url, dev).
 * `devRole` is the dev-mode identity when the tab has not chosen one with
 * ?as=…; the first call configures, later calls share the same objects.
 */
export function pageApi({ devRole = "alumno" } = {}) {
  if (page === null) {
    const config = JSON.parse(document.getElementById("app-config").textContent);
    const identity = config.dev ? devIdentity({ fallbackRole: devRole }) : {};
    const tokens = new TokenSource({ url: config.token_url, dev: config.dev, identity });
    page = { tokens, api: new ApiClient(tokens) };
  }
  return page;
}
