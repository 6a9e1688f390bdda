// Status badges (PRESENT, LATE, …): the word, or in tight grids a short
// mark with the word still there for screen readers; and the phone flags
// of a student's row.

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

/** What a professor should look at twice about a student's phone (shared in this class, new today), or null. */
export function phoneFlags(student) {
  const flags = [student.shared_phone && "shared", student.new_phone && "new"].filter(Boolean);
  if (flags.length === 0) {
    return null;
  }
  return h("div", { class: "phone-flags" },
    ...flags.map((flag) => h("span", { class: "badge badge-phone", "data-flag": flag }, t(`phone.flag.${flag}`))));
}
