// The live dashboard's roster: the students of a session as the `watch`
// snapshot gives them, kept current by the session's events (protocol
// §5.4), and the table rows that show them.

import { t } from "/static/js/lib/i18n.js";
import { fold } from "./attendance_table.js";
import { h } from "./dom.js";
import { formatNumber, formatTime } from "./format.js";
import { statusBadge } from "./status_badge.js";

/** Students by user id, changed event by event. */
export class Roster {
  constructor(students = []) {
    this.students = new Map(students.map((student) => [student.user_id, student]));
  }

  /** In name order, as people look for a name. */
  sorted() {
    return [...this.students.values()].sort((a, b) =>
      fold(a.full_name || a.username).localeCompare(fold(b.full_name || b.username)) || a.user_id - b.user_id);
  }

  put(student) {
    this.students.set(student.user_id, student);
  }

  #change(userId, changes) {
    const student = this.students.get(userId);
    if (student !== undefined) {
      this.students.set(userId, { ...student, ...changes });
    }
  }

  /** Apply one event of the session; says whether the roster changed. */
  apply(event, data) {
    switch (event) {
      case "joined":
        this.put(data.student);
        return true;
      case "round_passed":
        this.#change(data.user_id, { current_round: data.next_round, rounds_completed: data.round, round_failures: 0 });
        return true;
      case "completed": {
        const { status, computed_status: computedStatus, certainty, rounds_completed: done } = data.outcome;
        this.#change(data.user_id, {
          state: "completed", rounds_completed: done, status, computed_status: computedStatus, certainty,
        });
        return true;
      }
      case "scan_failed": {
        const student = this.students.get(data.user_id);
        if (data.counted && student !== undefined) {
          this.#change(data.user_id, { failures: student.failures + 1, round_failures: student.round_failures + 1 });
        }
        return data.counted;
      }
      case "failed":
        this.#change(data.user_id, { state: "failed" });
        return true;
      case "reset":
        this.#change(data.user_id, { state: "scanning", current_round: data.round, round_failures: 0 });
        return true;
      case "override":
        this.#change(data.user_id, { status: data.status, computed_status: data.computed_status });
        return true;
      case "closed":
        // Finalisation: whoever did not complete is absent, unless a professor already set a status.
        for (const student of this.students.values()) {
          if (student.state !== "completed" && student.status === null) {
            this.#change(student.user_id, { status: "ABSENT", computed_status: "ABSENT" });
          }
        }
        return true;
      default:
        return false;
    }
  }
}

/** Where a student stands: the outcome once there is one, else scanning or out of attempts. */
function standing(student) {
  if (student.status) {
    return student.status;
  }
  return student.state === "failed" ? "FAILED" : "IN_PROGRESS";
}

function cell(field, content, attributes = {}) {
  return h("td", { "data-label": t(`dashboard.col.${field}`), ...attributes }, content);
}

/** One student's row; `onReset(student)` gives a failed student new attempts. */
export function rosterRow(student, rounds, onReset) {
  const name = student.full_name || student.username;
  return h("tr", { "data-user-id": student.user_id, "data-standing": standing(student) },
    h("td", { class: "student" },
      h("div", {}, h("strong", {}, name)),
      h("div", { class: "muted" }, student.username)),
    cell("progress", h("div", {},
      h("span", { class: "round-count" }, t("dashboard.rounds", { done: student.rounds_completed, rounds })),
      h("progress", { max: rounds, value: student.rounds_completed, "aria-hidden": "true" }))),
    cell("status", statusBadge(standing(student))),
    cell("certainty", formatNumber(student.certainty), { class: "num" }),
    cell("failures", formatNumber(student.failures), { class: "num" }),
    cell("joined_at", formatTime(student.joined_at)),
    h("td", { class: "row-actions" },
      student.state === "failed" && student.status === null
        ? h("button", {
            type: "button", class: "button button-small",
            "aria-label": t("dashboard.reset_label", { name }),
            onclick: () => onReset(student),
          }, t("dashboard.reset"))
        : null));
}
