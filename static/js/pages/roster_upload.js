// The course roster on the summary page: upload a CSV of RUT and name
// (read here, one row per student; the API checks every RUT and stores
// nothing unless all are right), or add everyone who ever joined.

import { ApiError } from "/static/js/lib/api.js";
import { t } from "/static/js/lib/i18n.js";
import { showError, toast } from "./chrome.js";
import { fill, h, say } from "./dom.js";

const $ = (id) => document.getElementById(id);

function cells(line) {
  const delimiter = line.includes(";") ? ";" : line.includes("\t") ? "\t" : ",";
  return line.split(delimiter).map((cell) => cell.trim().replace(/^"(.*)"$/, "$1").trim());
}

/** Rows of RUT and name from a CSV's text, each with its line number; a header row is skipped. */
export function rosterRows(text) {
  const rows = [];
  text.replace(/^\ufeff/, "").split(/\r?\n/).forEach((line, index) => {
    if (!line.trim()) {
      return;
    }
    const [rut, ...name] = cells(line);
    if (rows.length === 0 && !/\d/.test(rut)) {
      return; // the header ("RUT;Nombre")
    }
    rows.push({ line: index + 1, rut, full_name: name.filter(Boolean).join(" ") });
  });
  return rows;
}

/** Wire the roster section of course `courseCode`; `onChange()` runs after the roster changed. */
export async function rosterSection(api, courseCode, onChange) {
  const path = `/api/courses/${encodeURIComponent(courseCode)}/roster`;
  const failure = $("roster-error");

  function showCount(roster) {
    const count = roster.students.length;
    $("roster-count").textContent = count ? t("roster.count", { count }) : t("roster.empty");
  }

  function reject(text, problems = []) {
    $("roster-error-text").textContent = text;
    fill($("roster-problems"), problems.map((problem) => h("li", {}, problem)));
    failure.hidden = false;
  }

  async function upload() {
    failure.hidden = true;
    const [file] = $("roster-file").files;
    if (!file) {
      reject(t("roster.no_file"));
      return;
    }
    const rows = rosterRows(await file.text());
    if (rows.length === 0) {
      reject(t("roster.no_rows"));
      return;
    }
    try {
      const roster = await api.put(path, { students: rows.map(({ rut, full_name }) => ({ rut, full_name })) });
      showCount(roster);
      toast(t("roster.uploaded", { count: roster.students.length }));
      await onChange();
    } catch (error) {
      const wrong = error instanceof ApiError ? error.fields?.students : null;
      if (wrong && typeof wrong === "object" && !Array.isArray(wrong)) {
        reject(t("roster.rejected"), Object.entries(wrong).flatMap(([index, fields]) => {
          const row = rows[Number(index)];
          return Object.keys(fields).map((field) => t(`roster.problem.${field}`, { line: row.line, rut: row.rut }));
        }));
      } else {
        showError($("roster-error-text"), error);
        failure.hidden = false;
      }
    }
  }

  async function addJoined() {
    failure.hidden = true;
    try {
      const roster = await api.post(`${path}/joined`);
      showCount(roster);
      toast(t("roster.added", { count: roster.added }));
      await onChange();
    } catch (error) {
      showError($("roster-error-text"), error);
      failure.hidden = false;
    }
  }

  $("roster-upload").addEventListener("click", upload);
  $("roster-joined").addEventListener("click", addJoined);
  showCount(await api.get(path));
}
