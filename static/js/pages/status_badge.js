// Status badges (PRESENT, LATE, …): the word, or in tight grids a short
// mark with the word still there for screen readers.

import { t } from "/static/js/lib/i18n.js";
import { h } from "./dom.js";

export function statusBadge(status, { short = false } = {}) {
  if (!short) {
    return h("span", { class: `badge badge-${status}` }, t(`status.${status}`));
  }
  return h("span", { class: `badge badge-${status}` },
    h("span", { "aria-hidden": "true" }, t(`status.short.${status}`)),
    h("span", { class: "visually-hidden" }, t(`status.${status}`)));
}
