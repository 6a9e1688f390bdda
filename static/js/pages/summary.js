// The course summary page (/asistencia/courses/{course_code}/summary?semester=):
// students × held sessions with status badges, each student's attendance
// rate, each session's totals, a chart of attendance over the semester,
// the CSV of the same grid, and the course's roster (roster_upload.js).

import { t } from "/static/js/lib/i18n.js";
import { drawAttendanceChart } from "./attendance_chart.js";
import { failPage, showError, startPage, toast } from "./chrome.js";
import { fill, h, say } from "./dom.js";
import { downloadFile } from "./download.js";
import { formatDate, formatPercent, formatTime } from "./format.js";
import { rosterSection } from "./roster_upload.js";
import { statusBadge } from "./status_badge.js";

const $ = (id) => document.getElementById(id);
const courseCode = $("summary").dataset.courseCode;
const semester = new URLSearchParams(location.search).get("semester")?.trim() || null;
const semesterInput = $("semester");
const chart = $("chart");

const page = await startPage({ devRole: "profesor", roles: ["profesor", "admin"] });

function apiPath(suffix) {
  const query = semester ? `?semester=${encodeURIComponent(semester)}` : "";
  return `/api/courses/${encodeURIComponent(courseCode)}/${suffix}${query}`;
}

// With the time of day: two sessions of one day must not look the same.
function sessionLabel(session) {
  const date = formatDate(session.date, { short: true });
  const time = formatTime(session.opened_at);
  return session.block ? t("summary.col.session", { date, time, block: session.block })
    : t("summary.col.session_no_block", { date, time });
}

function rateText(rate, attended, of) {
  return t("summary.rate", { percent: formatPercent(rate), attended, of });
}

function renderHeader(summary) {
  const title = summary.course_name ? `${summary.course_name} (${summary.course_code})` : summary.course_code;
  $("course-title").textContent = title;
  document.title = `${t("summary.page_title", { course_code: summary.course_code })} · ${t("app.name")}`;
  $("course-held").textContent = `${t("summary.held", { count: summary.sessions_held })} · ${
    summary.semester ?? t("summary.semester_all")}`;
  say($("course-active"), summary.active_sessions.length
    ? t("summary.active", { count: summary.active_sessions.length }) : "");
}

function renderGrid(summary) {
  const students = summary.students;
  fill($("grid-head"),
    h("th", { scope: "col" }, t("summary.col.student")),
    summary.sessions.map((session) => h("th", { scope: "col" },
      h("a", { href: `/asistencia/sessions/${session.id}/results` }, sessionLabel(session)))),
    h("th", { scope: "col", class: "rate" }, t("summary.col.rate")));
  fill($("grid-rows"), students.map((student) => h("tr", {},
    h("th", { scope: "row" },
      h("div", {}, student.full_name || student.username),
      h("div", { class: "muted" }, student.username)),
    student.statuses.map((status) => h("td", {}, status
      ? statusBadge(status, { short: true })
      : h("span", {}, h("span", { "aria-hidden": "true" }, t("common.missing")),
          h("span", { class: "visually-hidden" }, t("summary.not_registered"))))),
    h("td", { class: "rate" }, rateText(student.attendance_rate, student.attended, summary.sessions_held)))));
  fill($("grid-foot"),
    h("th", { scope: "row" }, t("summary.session_rate")),
    summary.sessions.map((session) => h("td", {},
      rateText(session.attendance_rate, session.totals.attended, students.length))),
    h("td", {}));
}

function chartPoints(summary) {
  const { series } = summary;
  return series.dates.map((date, index) => ({
    date, rate: series.attendance_rate[index], attended: series.attended[index], of: summary.students.length,
  }));
}

if (page !== null) {
  semesterInput.value = semester ?? "";
  // An empty semester means every semester: leave the parameter out rather than send it blank.
  $("semester-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const url = new URL(location.href);
    const chosen = semesterInput.value.trim();
    if (chosen) {
      url.searchParams.set("semester", chosen);
    } else {
      url.searchParams.delete("semester");
    }
    location.assign(url);
  });
  $("download-csv").addEventListener("click", async () => {
    say($("download-error"), "");
    try {
      const filename = await downloadFile(page.api, apiPath("summary.csv"), "resumen.csv");
      toast(t("results.download.done", { filename }));
    } catch (error) {
      showError($("download-error"), error);
    }
  });
  let points = [];
  // Drawn at the element's width: first when observed, again whenever it changes.
  const resizing = new ResizeObserver(() => drawAttendanceChart(chart, points));
  const load = async () => {
    const summary = await page.api.get(apiPath("summary"));
    renderHeader(summary);
    renderGrid(summary);
    points = chartPoints(summary);
    drawAttendanceChart(chart, points);
  };
  try {
    await load();
    resizing.observe(chart);
    await rosterSection(page.api, courseCode, load);
  } catch (error) {
    failPage(error);
  }
  $("summary").setAttribute("aria-busy", "false");
}
