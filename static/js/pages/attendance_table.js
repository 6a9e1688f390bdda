// The results page's attendance list: filtering and sorting done here, over
// the one JSON the page fetched, the way the API's `status`, `q` and `sort`
// do it (so the CSV download, which passes them on, has the same rows in the
// same order), and the table rows.

import { t } from "/static/js/lib/i18n.js";
import { h } from "./dom.js";
import { formatNumber, formatSeconds, formatTime } from "./format.js";
import { phoneFlags, statusBadge } from "./status_badge.js";

/** Case- and accent-insensitive text, as the server folds names and RUTs for searching and sorting. */
export function fold(text) {
  return (text ?? "").normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
}

function compare(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The students to show: those with `status` (all when empty) whose name or
 * RUT holds `q`, in name order, then ordered by `sort` ("field" or
 * "-field"). Missing values go last either way; ties keep name order.
 * `statusOrder` is the order `sort=status` follows.
 */
export function selectStudents(students, { status, q, sort }, statusOrder) {
  const needle = fold(q.trim());
  const chosen = students
    .filter((s) => !status || s.status === status)
    .filter((s) => !needle || fold(s.full_name).includes(needle) || fold(s.username).includes(needle))
    .sort((a, b) => compare(fold(a.full_name), fold(b.full_name)) || compare(a.username, b.username));
  const descending = sort.startsWith("-");
  const field = descending ? sort.slice(1) : sort;
  const key = {
    full_name: fold,
    username: fold,
    status: (value) => statusOrder.indexOf(value),
    joined_at: (value) => Date.parse(value),
  }[field] ?? ((value) => value);
  const known = chosen.filter((s) => s[field] !== null && s[field] !== undefined);
  const missing = chosen.filter((s) => s[field] === null || s[field] === undefined);
  known.sort((a, b) => (descending ? -1 : 1) * compare(key(a[field]), key(b[field])));
  return [...known, ...missing];
}

function cell(field, content, attributes = {}) {
  return h("td", { "data-label": t(`results.col.${field}`), ...attributes }, content);
}

function responseTimes(student) {
  const mean = formatSeconds(student.rt_mean_ms);
  return student.rt_sd_ms === null ? mean : `${mean} ± ${formatSeconds(student.rt_sd_ms)}`;
}

function medianAndRange(student) {
  const median = formatSeconds(student.rt_median_ms);
  if (student.rt_min_ms === null) {
    return median;
  }
  return `${median} (${formatSeconds(student.rt_min_ms)}–${formatSeconds(student.rt_max_ms)})`;
}

function statusCell(student) {
  const computed = student.overridden && student.computed_status !== student.status
    ? h("div", { class: "muted" }, t("results.computed", {
        status: student.computed_status ? t(`status.${student.computed_status}`) : t("common.missing"),
      }))
    : null;
  return cell("status", [statusBadge(student.status), computed]);
}

function noteCell(student) {
  const changes = student.overrides.length;
  return cell("note", [
    student.override?.note ?? null,
    changes ? h("div", { class: "muted" }, t("results.changes", { count: changes })) : null,
  ], { class: "note" });
}

/** One student's row; `onOverride(student)` opens the override dialog. */
export function attendanceRow(student, rounds, onOverride) {
  const name = student.full_name || student.username;
  return h("tr", { "data-user-id": student.user_id },
    h("td", { class: "student" },
      h("div", {}, h("strong", {}, name)),
      h("div", { class: "muted" }, student.username),
      phoneFlags(student)),
    statusCell(student),
    cell("certainty", student.manual ? t("results.manual") : formatNumber(student.certainty), { class: "num" }),
    cell("rounds_completed", `${formatNumber(student.rounds_completed)} / ${rounds}`, { class: "num" }),
    cell("rt_mean_ms", responseTimes(student), { class: "num" }),
    cell("rt_median_ms", medianAndRange(student), { class: "num" }),
    cell("failures", formatNumber(student.failures), { class: "num" }),
    cell("joined_at", student.registered === false ? t("results.not_registered") : formatTime(student.joined_at)),
    noteCell(student),
    h("td", { class: "row-actions" },
      h("button", {
        type: "button", class: "button button-small",
        "aria-label": t("results.override_label", { name }),
        onclick: () => onOverride(student),
      }, t("results.override"))));
}
