// The results page (/asistencia/sessions/{id}/results): a session's
// attendance list, filtered and sorted in the page, overrides with their
// audit, CSV and legacy downloads, and the fraud counters.

import { t } from "/static/js/lib/i18n.js";
import { attendanceRow, selectStudents } from "./attendance_table.js";
import { failPage, showError, startPage, toast } from "./chrome.js";
import { fill, h, say } from "./dom.js";
import { downloadFile } from "./download.js";
import { formatDateTime, localDate } from "./format.js";
import { showFraud } from "./fraud_panel.js";
import { overrideDialog } from "./override_dialog.js";
import { statusBadge } from "./status_badge.js";

const $ = (id) => document.getElementById(id);
const sessionId = Number($("results").dataset.sessionId);
const search = $("filter-search");
const statusFilter = $("filter-status");
const sortChoice = $("filter-sort");
const headers = [...document.querySelectorAll("#attendance th[data-sort]")];
// The statuses in the order the API lists and sorts them (the template renders them from it).
const statusOrder = [...statusFilter.options].map((option) => option.value).filter(Boolean);

const page = await startPage({ devRole: "profesor", roles: ["profesor", "admin"] });
let data = null;
let openOverride = null;

function filters() {
  return { status: statusFilter.value, q: search.value, sort: sortChoice.value };
}

function renderSession(session) {
  const name = `${session.course_name} (${session.course_code})`;
  $("session-title").textContent = name;
  const pageTitle = t("results.page_title", { course_code: session.course_code, date: localDate(session.opened_at ?? session.created_at) });
  document.title = `${pageTitle} · ${t("app.name")}`;
  const facts = [
    ["date", formatDateTime(session.opened_at ?? session.created_at)],
    ["block", session.block],
    ["room", session.room],
    ["join_code", session.join_code],
    ["status", t(`session.status.${session.status}`)],
    ["rounds", String(session.rounds)],
    ["professor", session.professor.full_name || session.professor.username],
  ].filter(([, value]) => value);
  fill($("session-meta"),
    facts.map(([key, value]) => h("div", {}, h("dt", {}, t(`results.meta.${key}`)), h("dd", {}, value))));
  const summary = $("summary-link");
  const query = session.semester ? `?semester=${encodeURIComponent(session.semester)}` : "";
  summary.href = `/asistencia/courses/${encodeURIComponent(session.course_code)}/summary${query}`;
  summary.hidden = false;
  const closed = session.status === "closed";
  $("mark-by-hand").hidden = session.status === "cancelled";
  $("download-legacy").disabled = !closed;
  $("legacy-hint").hidden = closed;
}

// Counted here rather than read from the answer's `totals`: an override changes them without a new fetch.
function totalsOf(students) {
  const totals = Object.fromEntries(statusOrder.map((status) => [status, 0]));
  for (const student of students) {
    totals[student.status] += 1;
  }
  return totals;
}

function renderTotals() {
  const totals = totalsOf(data.students);
  fill($("totals"),
    statusOrder.map((status) => h("li", {}, statusBadge(status), h("strong", {}, String(totals[status])))),
    h("li", {}, t("results.registered"), h("strong", {}, String(data.students.length))));
}

function renderList() {
  const chosen = filters();
  const shown = selectStudents(data.students, chosen, statusOrder);
  fill($("attendance-rows"), shown.map((student) => attendanceRow(student, data.session.rounds, openOverride)));
  $("attendance").hidden = shown.length === 0;
  say($("list-empty"), shown.length ? "" : t(data.students.length ? "results.no_match" : "results.empty"));
  $("list-count").textContent = t("results.count", { shown: shown.length, total: data.students.length });
  const field = chosen.sort.replace(/^-/, "");
  for (const header of headers) {
    const sorted = header.dataset.sort === field;
    header.setAttribute("aria-sort", !sorted ? "none" : chosen.sort.startsWith("-") ? "descending" : "ascending");
  }
}

async function load() {
  data = await page.api.get(`/api/sessions/${sessionId}/attendance`);
  renderSession(data.session);
  renderTotals();
  renderList();
}

/** Put the student the API answered with in the list (new when marked by hand). */
function replaceStudent(student) {
  const known = data.students.some((other) => other.user_id === student.user_id);
  data.students = known
    ? data.students.map((other) => (other.user_id === student.user_id ? student : other))
    : [...data.students, student];
  renderTotals();
  renderList();
}

function csvPath() {
  const { status, q, sort } = filters();
  const query = new URLSearchParams();
  if (status) {
    query.set("status", status);
  }
  if (q.trim()) {
    query.set("q", q.trim());
  }
  query.set("sort", sort);
  return `/api/sessions/${sessionId}/attendance.csv?${query}`;
}

async function download(path, fallbackName) {
  say($("download-error"), "");
  try {
    toast(t("results.download.done", { filename: await downloadFile(page.api, path, fallbackName) }));
  } catch (error) {
    showError($("download-error"), error);
  }
}

if (page !== null) {
  openOverride = overrideDialog(page.api, sessionId, replaceStudent);
  $("mark-by-hand").addEventListener("click", () => openOverride(null));
  $("filters").addEventListener("submit", (event) => event.preventDefault());
  search.addEventListener("input", renderList);
  statusFilter.addEventListener("change", renderList);
  sortChoice.addEventListener("change", renderList);
  for (const header of headers) {
    header.querySelector("button").addEventListener("click", () => {
      const field = header.dataset.sort;
      sortChoice.value = sortChoice.value === field ? `-${field}` : field;
      renderList();
    });
  }
  $("download-csv").addEventListener("click", () => download(csvPath(), "asistencia.csv"));
  $("download-legacy").addEventListener("click",
    () => download(`/api/sessions/${sessionId}/attendance/legacy?format=csv`, "legacy.csv"));
  $("refresh").addEventListener("click", async () => {
    say($("list-error"), "");
    try {
      await load();
      toast(t("results.refreshed"));
    } catch (error) {
      showError($("list-error"), error);
    }
  });
  try {
    await load();
  } catch (error) {
    failPage(error);
  }
  $("results").setAttribute("aria-busy", "false");
  if (data !== null) {
    await showFraud(page.api, sessionId).catch((error) => showError($("list-error"), error));
  }
}
