// Closing a class session from the sessions page or the dashboard: a
// confirmation (closing finalises everyone still scanning as absent), then
// POST /api/sessions/{id}/close. The dialog is templates/close_dialog.html.

import { t } from "/static/js/lib/i18n.js";
import { confirmed } from "./dom.js";

/** Ask, then close: the closed session as the API answers it, or null when the professor cancelled. */
export async function closeSession(api, session) {
  document.getElementById("close-dialog-session").textContent =
    t("close.session", { course: session.course_name, code: session.join_code });
  if (!(await confirmed(document.getElementById("close-dialog")))) {
    return null;
  }
  return api.post(`/api/sessions/${session.id}/close`);
}
