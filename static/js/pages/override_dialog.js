// The override dialog of the results page: a new status (JUSTIFIED
// included) with a required note, sent as PATCH
// /api/sessions/{id}/attendance/{user_id}, and the student's audit history.
// The same dialog marks by hand (POST /api/sessions/{id}/attendance, by
// RUT) a roster student who never joined, or anyone typed in: a phone that
// failed or has no passkey.

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
  const rut = $("override-rut");
  const rutError = $("override-rut-error");
  let student = null;

  function markRut(problem) {
    say(rutError, problem);
    rut.setAttribute("aria-invalid", problem ? "true" : "false");
  }

  /** The request that sets the status: an override of a registration, or a mark by hand by RUT. */
  function send(body) {
    if (student === null) {
      const fullName = $("override-name").value.trim();
      return api.post(`/api/sessions/${sessionId}/attendance`,
        { ...body, rut: rut.value.trim(), ...(fullName ? { full_name: fullName } : {}) });
    }
    if (student.registered === false) {
      return api.post(`/api/sessions/${sessionId}/attendance`, { ...body, rut: student.username });
    }
    return api.patch(`/api/sessions/${sessionId}/attendance/${student.user_id}`, body);
  }

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
    const rutMissing = student === null && !rut.value.trim();
    markRut(rutMissing ? t("mark.rut_invalid") : "");
    if (rutMissing || problem) {
      (rutMissing ? rut : note).focus();
      return;
    }
    say(failure, "");
    submit.disabled = true;
    try {
      const reply = await send({ status: status.value, note: note.value.trim() });
      dialog.close();
      onSaved(reply.student);
      toast(t("override.done", {
        name: reply.student.full_name || reply.student.username, status: statusLabel(reply.student.status),
      }));
    } catch (error) {
      if (error instanceof ApiError && error.fields?.note) {
        markNote(t("override.note_required"));
      }
      if (error instanceof ApiError && error.fields?.rut) {
        markRut(t("mark.rut_invalid"));
        rut.focus();
      }
      showError(failure, error);
    } finally {
      submit.disabled = false;
    }
  });
  $("override-cancel").addEventListener("click", () => dialog.close());

  /** Open for a student of the list, or with `null` to mark someone by hand by RUT. */
  return function open(chosen) {
    student = chosen;
    const byHand = student === null;
    $("override-title").textContent = t(byHand ? "mark.title" : "override.title");
    $("override-who").hidden = !byHand;
    rut.value = "";
    $("override-name").value = "";
    markRut("");
    say($("override-student"), byHand ? "" : t("override.student", {
      name: student.full_name || student.username, rut: student.username,
    }));
    say($("override-current"), byHand ? "" : t("override.current", { status: statusLabel(student.status) }));
    const offered = [...status.options].map((option) => option.value);
    status.value = !byHand && offered.includes(student.status) ? student.status : offered[0];
    note.value = "";
    markNote("");
    say(failure, "");
    const history = byHand ? [] : student.overrides;
    fill($("override-history"), history.map(historyEntry));
    $("override-history-empty").hidden = history.length > 0;
    dialog.showModal();
    (byHand ? rut : status).focus();
  };
}
