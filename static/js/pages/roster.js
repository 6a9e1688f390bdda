// The live dashboard's roster: the students of a session as the `watch`
// snapshot gives them, kept current by the session's events (protocol
// §5.4), and the table rows that show them.

import { t } from "/static/js/lib/i18n.js";
import { fold } from "./attendance_table.js";
import { h } from "./dom.js";
import { formatNumber, formatTime } from "./format.js";
import { phoneFlags, statusBadge } from "./status_badge.js";

const nameKey = (student) => fold(student.full_name || student.username);

function byName(a, b) {
  return nameKey(a).localeCompare(nameKey(b)) || a.user_id - b.user_id;
}

/** Students by user id, changed event by event. */
export class Roster {
  constructor(students = []) {
    this.students = new Map(students.map((student) => [student.user_id, student]));
  }

  /** In name order, as people look for a name. */
  sorted() {
    return [...this.students.values()].sort(byName);
  }

  get(userId) {
    return this.students.get(userId);
  }

  get size() {
    return this.students.size;
  }

  /** The student right after `student` in name order, or null: where a newcomer's row goes. */
  following(student) {
    let next = null;
    for (const other of this.students.values()) {
      if (byName(student, other) < 0 && (next === null || byName(other, next) < 0)) {
        next = other;
      }
    }
    return next;
  }

  put(student) {
    this.students.set(student.user_id, student);
  }

  /** Change one student; their id in a list, or an empty list when they are not on the roster. */
  #change(userId, changes) {
    const student = this.students.get(userId);
    if (student === undefined) {
      return [];
    }
    this.students.set(userId, { ...student, ...changes });
    return [userId];
  }

  /** Apply one event of the session; returns the ids of the students it changed. */
  apply(event, data) {
    switch (event) {
      case "joined":
        this.put(data.student);
        return [data.student.user_id];
      case "round_passed":
        return this.#change(data.user_id,
          { current_round: data.next_round, rounds_completed: data.round, round_failures: 0 });
      case "completed": {
        const { status, computed_status: computedStatus, certainty, rounds_completed: done } = data.outcome;
        return this.#change(data.user_id, {
          state: "completed", rounds_completed: done, status, computed_status: computedStatus, certainty,
        });
      }
      case "scan_failed": {
        const student = this.students.get(data.user_id);
        if (!data.counted || student === undefined) {
          return [];
        }
        return this.#change(data.user_id,
          { failures: student.failures + 1, round_failures: student.round_failures + 1 });
      }
      case "failed":
        return this.#change(data.user_id, { state: "failed" });
      case "reset":
        return this.#change(data.user_id, { state: "scanning", current_round: data.round, round_failures: 0 });
      case "override":
        return this.#change(data.user_id, { status: data.status, computed_status: data.computed_status });
      case "camera":
        return this.#change(data.user_id, { camera: data.camera });
      case "closed":
        // Finalisation: whoever did not complete is absent, unless a professor already set a status.
        return [...this.students.values()]
          .filter((student) => student.state !== "completed" && student.status === null)
          .flatMap((student) => this.#change(student.user_id, { status: "ABSENT", computed_status: "ABSENT" }));
      default:
        return [];
    }
  }
}

// The dashboard's filter: who needs the professor now (out of attempts, failing
// on the current round, not started at all — a camera denied, or not even joined
// while on the course roster) and who is done.
export const GROUPS = ["all", "failed", "stuck", "not_started", "done"];

/** Whether `student` belongs to the filter group `group`. */
export function inGroup(student, group) {
  const scanning = !student.status && student.state === "scanning";
  switch (group) {
    case "failed":
      return !student.status && student.state === "failed";
    case "stuck":
      return scanning && student.round_failures > 0;
    case "not_started":
      return (scanning && student.rounds_completed === 0 && student.round_failures === 0)
        || (!student.status && student.state === "not_joined");
    case "done":
      return Boolean(student.status);
    default:
      return true;
  }
}

// A course roster student who has not joined (yet): the snapshot lists them with this state.
const STANDING_OF_STATE = { failed: "FAILED", not_joined: "NOT_JOINED" };

/** Where a student stands: the outcome once there is one, else scanning, out of attempts or not joined. */
function standing(student) {
  if (student.status) {
    return student.status;
  }
  return STANDING_OF_STATE[student.state] ?? "IN_PROGRESS";
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
      h("div", { class: "muted" }, student.username),
      phoneFlags(student)),
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
