// The override dialog of the results page: a new status (JUSTIFIED
// included) with a required note, sent as PATCH
// /api/sessions/{id}/attendance/{user_id}, and the student's audit history.

import { ApiError } from "/static/js/lib/api.js";
import { t } from "/static/js/lib/i18n.js";
import { showError, toast } from "./chrome.js";
import { fill, h, say } from "./dom.js";
import { formatDateTime } from "./format.js";

const $ = (id) => document.getElementById(id);

function statusLabel(status) {
  return status ? t(`status.${status}`) : t("common.missing");
}

function historyEntry(change) {
  const actor = change.actor?.full_name || change.actor?.username || t("common.missing");
  return h("li", {},
    h("p", {}, h("strong", {}, t("override.history_change", {
      from: statusLabel(change.from_status), to: statusLabel(change.to_status),
    }))),
    h("p", { class: "muted" }, t("override.history_by", { actor, date: formatDateTime(change.at) })),
    h("p", {}, change.note));
}

/**
 * Wire the dialog for a session; `onSaved(student)` gets the list entry the
 * API answered with. Returns `open(student)`.
 */
export function overrideDialog(api, sessionId, onSaved) {
  const dialog = $("override-dialog");
  const form = $("override-form");
  const status = $("override-status");
  const note = $("override-note");
  const noteError = $("override-note-error");
  const failure = $("override-error");
  const submit = form.querySelector("button[type=submit]");
  let student = null;

  function noteProblem() {
    const text = note.value.trim();
    if (!text) {
      return t("override.note_required");
    }
    return text.length > note.maxLength ? t("override.note_too_long", { max: note.maxLength }) : "";
  }

  function markNote(problem) {
    say(noteError, problem);
    note.setAttribute("aria-invalid", problem ? "true" : "false");
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const problem = noteProblem();
    markNote(problem);
    if (problem) {
      note.focus();
      return;
    }
    say(failure, "");
    submit.disabled = true;
    try {
      const reply = await api.patch(`/api/sessions/${sessionId}/attendance/${student.user_id}`,
                                    { status: status.value, note: note.value.trim() });
      dialog.close();
      onSaved(reply.student);
      toast(t("override.done", {
        name: reply.student.full_name || reply.student.username, status: statusLabel(reply.student.status),
      }));
    } catch (error) {
      if (error instanceof ApiError && error.fields?.note) {
        markNote(t("override.note_required"));
      }
      showError(failure, error);
    } finally {
      submit.disabled = false;
    }
  });
  $("override-cancel").addEventListener("click", () => dialog.close());

  return function open(chosen) {
    student = chosen;
    $("override-student").textContent = t("override.student", {
      name: student.full_name || student.username, rut: student.username,
    });
    $("override-current").textContent = t("override.current", { status: statusLabel(student.status) });
    const offered = [...status.options].map((option) => option.value);
    status.value = offered.includes(student.status) ? student.status : offered[0];
    note.value = "";
    markNote("");
    say(failure, "");
    fill($("override-history"), student.overrides.map(historyEntry));
    $("override-history-empty").hidden = student.overrides.length > 0;
    dialog.showModal();
  };
}
