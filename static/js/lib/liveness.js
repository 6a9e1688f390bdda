// A connection's pulse, kept by the application rather than by TCP: a
// socket whose network died (a projector's Wi-Fi dropped, a phone in a lift)
// stays "open" for a minute or more before the browser notices. The client
// pings every `everyMs`; anything the server sends (a frame, an event, the
// pong) proves the connection alive; `silentMs` without a word from the
// server calls `onSilent` once, and the owner replaces the connection.
//
// The figures (docs/pages.md, "Liveness"): a projector gets a frame every
// third of a second and a phone a pong every 1.5 s, so 4 s of silence is a
// dead connection, never a slow one; a page shows it within 4–4.5 s.

export const HEARTBEAT_EVERY_MS = 1500;
export const SILENT_AFTER_MS = 4000;
// How often the silence is looked at: the detection is at most this late.
const CHECK_EVERY_MS = 250;

export class Heartbeat {
  #everyMs;
  #silentMs;
  #ping;
  #onSilent;
  #now;
  #heardAt = 0;
  #pingedAt = 0;
  #timer = null;

  /** ping(): send one ping (its answer reaches `heard()` like any message); onSilent(): the connection is dead. */
  constructor({ ping, onSilent, everyMs = HEARTBEAT_EVERY_MS, silentMs = SILENT_AFTER_MS,
                now = () => performance.now() }) {
    this.#ping = ping;
    this.#onSilent = onSilent;
    this.#everyMs = everyMs;
    this.#silentMs = silentMs;
    this.#now = now;
  }

  /** Start counting (a connection is being made): `graceMs` for it to open and say a first word. */
  start({ graceMs = this.#silentMs } = {}) {
    this.stop();
    const now = this.#now();
    this.#heardAt = now + graceMs - this.#silentMs;
    this.#pingedAt = now;
    this.#timer = setInterval(() => this.#check(), Math.min(CHECK_EVERY_MS, this.#everyMs));
  }

  /** The server said something: the connection is alive. */
  heard() {
    this.#heardAt = this.#now();
  }

  stop() {
    clearInterval(this.#timer);
    this.#timer = null;
  }

  #check() {
    const now = this.#now();
    if (now - this.#heardAt >= this.#silentMs) {
      this.stop();
      this.#onSilent();
    } else if (now - this.#pingedAt >= this.#everyMs) {
      this.#pingedAt = now;
      this.#ping();
    }
  }
}
