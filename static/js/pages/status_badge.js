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

// What the scanner reported about its camera (protocol §5.4 `camera`) → the flag shown, if any.
const CAMERA_FLAGS = { CAMERA_DENIED: "camera_denied", CAMERA_NOT_FOUND: "no_camera", CAMERA_UNSUPPORTED: "no_camera" };

/**
 * What a professor should look at twice about a student's phone (shared in
 * this class, new today, no camera to scan with), or null.
 */
export function phoneFlags(student) {
  const camera = student.camera && student.camera !== "CAMERA_OK" ? CAMERA_FLAGS[student.camera] ?? "camera_failed" : null;
  const flags = [student.shared_phone && "shared", student.new_phone && "new", camera].filter(Boolean);
  if (flags.length === 0) {
    return null;
  }
  return h("div", { class: "phone-flags" },
    ...flags.map((flag) => h("span", { class: "badge badge-phone", "data-flag": flag }, t(`phone.flag.${flag}`))));
}
