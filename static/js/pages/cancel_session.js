// Cancelling a mistaken class session from the sessions page or the
// dashboard: a dialog asks why (required; audited with who and when), then
// POST /api/sessions/{id}/cancel. A cancelled session counts nowhere. The
// dialog is templates/cancel_dialog.html.

import { t } from "/static/js/lib/i18n.js";
import { showError } from "./chrome.js";
import { say } from "./dom.js";

const $ = (id) => document.getElementById(id);

/** Ask why, then cancel: the cancelled session as the API answers it, or null when the professor backed out. */
export function cancelSession(api, session) {
  const dialog = $("cancel-dialog");
  const form = $("cancel-form");
  const reason = $("cancel-reason");
  const failure = $("cancel-error");
  $("cancel-dialog-session").textContent = t("close.session", { course: session.course_name, code: session.join_code });
  reason.value = "";
  reason.setAttribute("aria-invalid", "false");
  say($("cancel-reason-error"), "");
  say(failure, "");
  return new Promise((resolve) => {
    let answer = null;
    const submit = async (event) => {
      event.preventDefault();
      const why = reason.value.trim();
      say($("cancel-reason-error"), why ? "" : t("cancel.reason_missing"));
      reason.setAttribute("aria-invalid", why ? "false" : "true");
      if (!why) {
        reason.focus();
        return;
      }
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        answer = await api.post(`/api/sessions/${session.id}/cancel`, { reason: why });
        dialog.close();
      } catch (error) {
        showError(failure, error);
      } finally {
        button.disabled = false;
      }
    };
    const keep = () => dialog.close();
    form.addEventListener("submit", submit);
    $("cancel-keep").addEventListener("click", keep);
    dialog.addEventListener("close", () => {
      form.removeEventListener("submit", submit);
      $("cancel-keep").removeEventListener("click", keep);
      resolve(answer);
    }, { once: true });
    dialog.showModal();
  });
}
