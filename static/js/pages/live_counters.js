// A session's live counters (joined, in progress, present, …) as the
// projector and the dashboard show them. Events can arrive after a newer
// snapshot: counters carry a `version` and only ever move forward.

import { progressText } from "/static/js/lib/class_progress.js";
import { t } from "/static/js/lib/i18n.js";
import { fill, h } from "./dom.js";

export class LiveCounters {
  #list;
  #fields;
  #shown = null;
  #progress;

  /**
   * `list`: the <dl> to fill; `fields`: which counters, in order (a field may be a sum: ["present", "late"]);
   * `progress`: an element for the "214 de 300 listos" line, if any.
   */
  constructor(list, fields, { progress = null } = {}) {
    this.#list = list;
    this.#fields = fields;
    this.#progress = progress;
  }

  get current() {
    return this.#shown;
  }

  /** Show `counters` unless older than what is shown; says whether they were taken. */
  update(counters) {
    if (!counters || (this.#shown !== null && counters.version < this.#shown.version)) {
      return false;
    }
    this.#shown = counters;
    fill(this.#list, this.#fields.map(({ key, sum }) => {
      const value = sum.reduce((total, name) => total + (counters[name] ?? 0), 0);
      return h("div", { class: `counter counter-${key}`, "data-counter": key },
        h("dt", {}, t(`counters.${key}`)),
        h("dd", {}, String(value)));
    }));
    if (this.#progress !== null) {
      this.#progress.textContent = progressText(counters);
    }
    return true;
  }
}
