// The /ws connection of a page: authenticates, answers requests by id,
// hands everything else to the page, and comes back by itself.
//
// Protocol (asistencia/ws/): the first message is {"type":"auth","token"};
// the server answers {"type":"auth_ok","user"}. A message with a numeric
// `id` gets {"type":"result","id","data"} or {"type":"error","id","error"}.
// Anything else the server sends (events, projector frames) goes to onMessage.
//
// Close codes (asistencia/ws/const.py) and what this client does:
//   4401 invalid token      fetch a fresh token and reconnect at once; a
//                           second 4401 in a row gives up
//   4400 malformed message  give up (a bug: retrying repeats it)
//   4403 role not allowed   give up
//   4404 unknown session    give up
//   4408 auth timeout, 4429 too slow, 1001 server going away, a lost
//   network (1006) and anything else: reconnect with exponential backoff.
// After every (re)connection onReady runs: that is where a page sends its
// `project`/`watch`/`join` again, so it resumes without a reload.
//
// Liveness (liveness.js): the client pings every 1.5 s and counts anything
// the server sends as a sign of life; 4 s of silence (a network that died
// without closing anything) replaces the connection, and the page hears
// RECONNECTING at once. The browser's `online` event cuts a reconnection's
// backoff short.
//
// The socket's token has a lifetime (auth_ok's `expires_in`): commands that
// change state need a live one. Before it runs out this client fetches a
// fresh token and sends {"type":"auth","token"} on the open socket; if that
// fails the server closes with 4401 after a grace, and the client reconnects
// with a fresh token as above.

import { ApiError } from "./api.js";
import { Heartbeat } from "./liveness.js";

export const CLOSE_UNAUTHORIZED = 4401;
const GIVE_UP = new Set([4400, 4403, 4404]);
// A new connection has this long to open and authenticate (a phone's slow network) before it counts as dead.
const CONNECT_GRACE_MS = 8000;

/** Connection states, for the page to show (e.g. "reconectando…" while RECONNECTING). */
export const State = Object.freeze({
  CONNECTING: "connecting",
  OPEN: "open",
  RECONNECTING: "reconnecting",
  CLOSED: "closed",
});

function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}

export class LiveSocket {
  #tokens;
  #url;
  #onReady;
  #onMessage;
  #onStateChange;
  #backoff;
  #heartbeat;
  #requestTimeoutMs;
  #ws = null;
  #state = State.CLOSED;
  #stopped = true;
  #everOpen = false;
  #attempt = 0;
  #unauthorized = 0;
  #token = null;
  #nextId = 1;
  #pending = new Map();
  #timer = null;
  #renewal = null;
  #online;

  /**
   * tokens: a TokenSource (api.js). onReady(user, {reconnected}) after each
   * auth_ok; onMessage(message) for every message that is not a reply;
   * onStateChange(state, detail) where detail is {code, reason, error} once CLOSED.
   * backoff: {initialMs, maxMs}; heartbeat: {everyMs, silentMs} (liveness.js:
   * how often to ping, and the silence after which the connection is replaced).
   */
  constructor({
    tokens,
    url = socketUrl(),
    onReady = () => {},
    onMessage = () => {},
    onStateChange = () => {},
    backoff = { initialMs: 500, maxMs: 5000 },
    heartbeat = {},
    requestTimeoutMs = 10000,
  }) {
    this.#tokens = tokens;
    this.#url = url;
    this.#onReady = onReady;
    this.#onMessage = onMessage;
    this.#onStateChange = onStateChange;
    this.#backoff = backoff;
    this.#heartbeat = new Heartbeat({
      ...heartbeat,
      ping: () => this.request("ping").catch(() => {}),
      onSilent: () => {
        this.#drop(new ApiError(0, "CONNECTION_LOST", "The server stopped answering"));
        this.#retryLater();
      },
    });
    this.#online = () => this.#reconnectNow();
    this.#requestTimeoutMs = requestTimeoutMs;
    this.user = null;
    this.closeDetail = null;
  }

  get state() {
    return this.#state;
  }

  start() {
    if (!this.#stopped) {
      return;
    }
    this.#stopped = false;
    this.closeDetail = null;
    globalThis.addEventListener?.("online", this.#online);
    this.#connect();
  }

  stop() {
    this.#stopped = true;
    globalThis.removeEventListener?.("online", this.#online);
    clearTimeout(this.#timer);
    this.#drop(new ApiError(0, "CONNECTION_LOST", "The connection was closed"));
    this.#setState(State.CLOSED, { code: 1000, reason: "stopped", error: null });
  }

  /** Send {type, ...fields, id} and resolve with the result's data; rejects with an ApiError. */
  request(type, fields = {}, { timeoutMs = this.#requestTimeoutMs } = {}) {
    // OPEN but closing underneath (the server's close frame is in, onclose not yet run): not connected.
    if (this.#state !== State.OPEN || this.#ws?.readyState !== WebSocket.OPEN) {
      return Promise.reject(new ApiError(0, "NOT_CONNECTED", "Not connected to the server"));
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new ApiError(0, "TIMEOUT", `No answer to ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.#ws.send(JSON.stringify({ ...fields, type, id }));
    });
  }

  #setState(state, detail = null) {
    if (state === State.CLOSED) {
      this.closeDetail = detail;
    }
    if (state !== this.#state) {
      this.#state = state;
      this.#onStateChange(state, detail);
    }
  }

  async #connect() {
    this.#setState(this.#everOpen ? State.RECONNECTING : State.CONNECTING);
    let token;
    try {
      token = this.#unauthorized > 0 ? await this.#tokens.refresh(this.#token) : await this.#tokens.get();
    } catch (error) {
      if (error instanceof ApiError && error.isTokenError) {
        this.#giveUp({ code: CLOSE_UNAUTHORIZED, reason: error.code, error });
      } else {
        this.#retryLater();
      }
      return;
    }
    if (this.#stopped) {
      return;
    }
    this.#token = token;
    const ws = new WebSocket(this.#url);
    this.#ws = ws;
    this.#heartbeat.start({ graceMs: CONNECT_GRACE_MS });
    ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token }));
    ws.onmessage = (event) => {
      this.#heartbeat.heard();
      this.#receive(event.data);
    };
    ws.onclose = (event) => this.#closed(event.code, event.reason);
  }

  #receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    const pending = typeof message.id === "number" ? this.#pending.get(message.id) : undefined;
    if (pending && (message.type === "result" || message.type === "error")) {
      this.#pending.delete(message.id);
      clearTimeout(pending.timer);
      if (message.type === "result") {
        pending.resolve(message.data);
      } else {
        pending.reject(ApiError.fromJson(message.error));
      }
    } else if (message.type === "auth_ok") {
      this.#authenticated(message.user, message.expires_in);
    } else {
      this.#onMessage(message);
    }
  }

  #authenticated(user, expiresIn) {
    const reconnected = this.#everOpen;
    this.user = user;
    this.#everOpen = true;
    this.#attempt = 0;
    this.#unauthorized = 0;
    this.#setState(State.OPEN);
    this.#scheduleRenewal(expiresIn);
    this.#onReady(user, { reconnected });
  }

  /** Send a fresh token a minute before this one expires (halfway, for short-lived ones). */
  #scheduleRenewal(expiresIn, retryMs = null) {
    clearTimeout(this.#renewal);
    if (typeof expiresIn !== "number" && retryMs === null) {
      return;
    }
    const inMs = retryMs ?? Math.max(1000, (expiresIn - Math.min(60, expiresIn / 2)) * 1000);
    this.#renewal = setTimeout(() => this.#renew(), inMs);
  }

  async #renew() {
    try {
      const token = await this.#tokens.refresh(this.#token);
      this.#token = token;
      const renewed = await this.request("auth", { token });
      this.#scheduleRenewal(renewed.expires_in);
    } catch {
      if (this.#state === State.OPEN) {
        this.#scheduleRenewal(null, 5000);
      }
    }
  }

  #closed(code, reason) {
    this.#drop(new ApiError(0, "CONNECTION_LOST", `The connection closed (${code})`));
    if (this.#stopped) {
      return;
    }
    if (GIVE_UP.has(code) || (code === CLOSE_UNAUTHORIZED && this.#unauthorized > 0)) {
      this.#giveUp({ code, reason, error: null });
    } else if (code === CLOSE_UNAUTHORIZED) {
      this.#unauthorized += 1;
      this.#connect();
    } else {
      this.#retryLater();
    }
  }

  /** Forget the current socket (without waiting for a close handshake) and fail its pending requests. */
  #drop(error) {
    this.#heartbeat.stop();
    clearTimeout(this.#renewal);
    if (this.#ws !== null) {
      const ws = this.#ws;
      this.#ws = null;
      ws.onopen = ws.onmessage = ws.onclose = null;
      if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) {
        ws.close();
      }
    }
    for (const { reject, timer } of this.#pending.values()) {
      clearTimeout(timer);
      reject(error);
    }
    this.#pending.clear();
  }

  #retryLater() {
    if (this.#stopped) {
      return;
    }
    this.#setState(this.#everOpen ? State.RECONNECTING : State.CONNECTING);
    const ceiling = Math.min(this.#backoff.maxMs, this.#backoff.initialMs * 2 ** this.#attempt);
    this.#attempt += 1;
    // Half to all of the ceiling: a restarted server is not hit by every client at once.
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#connect();
    }, ceiling * (0.5 + Math.random() / 2));
  }

  /** The network came back: a connection waiting out its backoff tries at once. */
  #reconnectNow() {
    if (!this.#stopped && this.#ws === null && this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
      this.#attempt = 0;
      this.#connect();
    }
  }

  #giveUp(detail) {
    this.#stopped = true;
    globalThis.removeEventListener?.("online", this.#online);
    this.#drop(new ApiError(0, "CONNECTION_LOST", "The connection was closed"));
    this.#setState(State.CLOSED, detail);
  }
}
