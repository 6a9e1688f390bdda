// Closing a class session from the sessions page or the dashboard: a
// confirmation (closing finalises everyone still scanning as absent), then
// POST /api/sessions/{id}/close. The dialog is templates/close_dialog.html.

import { t } from "/static/js/lib/i18n.js";

function confirmClose(session) {
  const dialog = document.getElementById("close-dialog");
  document.getElementById("close-dialog-session").textContent =
    t("close.session", { course: session.course_name, code: session.join_code });
  return new Promise((resolve) => {
    dialog.returnValue = "";
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
    dialog.showModal();
  });
}

/** Ask, then close: the closed session as the API answers it, or null when the professor cancelled. */
export async function closeSession(api, session) {
  if (!(await confirmClose(session))) {
    return null;
  }
  return api.post(`/api/sessions/${session.id}/close`);
}
