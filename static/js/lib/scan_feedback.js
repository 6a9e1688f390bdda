// What the scanner tells the student while waiting for a round: whether the
// camera sees codes at all, how many it has read, and when this student's
// own code was last on screen. Between rounds nothing else moves, so
// without it a phone aimed at the wall looks the same as one aimed well.

import { t } from "./i18n.js";

// A frame without codes is normal (codes change 3 times a second): only this long without any is "none in view".
const NONE_IN_VIEW_MS = 2000;
// The line is rewritten at most this often (it is read, not announced).
const RENDER_EVERY_MS = 1000;

export class ScanFeedback {
  #element;
  #now;
  #read = 0;
  #codesAt = null;
  #ownAt = null;
  #renderedAt = -Infinity;

  /** element: the line that says it; now(): milliseconds (performance.now). */
  constructor(element, { now = () => performance.now() } = {}) {
    this.#element = element;
    this.#now = now;
  }

  /** The camera is on: start from nothing read. */
  start() {
    this.#read = 0;
    this.#codesAt = this.#ownAt = null;
    this.#element.hidden = false;
    this.#render(this.#now());
  }

  stop() {
    this.#element.hidden = true;
  }

  /** One decoded camera frame: `codes` QR codes read in it, `own` of them this student's. */
  frame(codes, own) {
    const now = this.#now();
    this.#read += codes;
    if (codes > 0) {
      this.#codesAt = now;
    }
    if (own > 0) {
      this.#ownAt = now;
    }
    if (now - this.#renderedAt >= RENDER_EVERY_MS || (own > 0 && this.#element.dataset.own !== "seen")) {
      this.#render(now);
    }
  }

  #render(now) {
    this.#renderedAt = now;
    const seeing = this.#codesAt !== null && now - this.#codesAt < NONE_IN_VIEW_MS;
    const parts = [t(seeing ? "scan.seen.codes" : "scan.seen.none", { count: this.#read })];
    if (this.#ownAt !== null) {
      parts.push(t("scan.seen.own", { seconds: Math.round((now - this.#ownAt) / 1000) }));
    } else if (this.#read > 0) {
      parts.push(t("scan.seen.own_never"));
    }
    this.#element.textContent = parts.join(" · ");
    this.#element.dataset.seeing = String(seeing);
    this.#element.dataset.read = String(this.#read);
    this.#element.dataset.own = this.#ownAt === null ? "never" : "seen";
  }
}
