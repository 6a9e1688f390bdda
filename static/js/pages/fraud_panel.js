// The results page's fraud panel: refused scans of the session by type and
// the students involved, from GET /api/sessions/{id}/fraud.

import { ApiError } from "/static/js/lib/api.js";
import { t } from "/static/js/lib/i18n.js";
import { fill, h } from "./dom.js";

const $ = (id) => document.getElementById(id);

function codeLabel(code) {
  const label = t(`fraud.code.${code}`);
  return label === `fraud.code.${code}` ? code : label;
}

function codeCounts(byCode) {
  return Object.entries(byCode)
    .sort(([, a], [, b]) => b - a)
    .map(([code, count]) => t("fraud.code_count", { label: codeLabel(code), count }))
    .join(", ");
}

/**
 * Fetch and show the session's counters. The endpoint comes with the
 * attendance loop; a server without it answers a bare 404 (NOT_FOUND, not
 * SESSION_NOT_FOUND) and the panel stays hidden.
 */
export async function showFraud(api, sessionId) {
  let report;
  try {
    report = await api.get(`/api/sessions/${sessionId}/fraud`);
  } catch (error) {
    if (error instanceof ApiError && error.code === "NOT_FOUND") {
      return;
    }
    throw error;
  }
  $("fraud-total").textContent = report.total ? t("fraud.total", { count: report.total }) : t("fraud.none");
  $("fraud-table").hidden = report.students.length === 0;
  fill($("fraud-rows"), report.students.map((student) => h("tr", {},
    h("td", {}, h("div", {}, student.full_name || student.username), h("div", { class: "muted" }, student.username)),
    h("td", { class: "num" }, String(student.total)),
    h("td", {}, codeCounts(student.by_code)))));
  $("fraud").hidden = false;
}
