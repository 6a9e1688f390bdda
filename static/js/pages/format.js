// Dates, times and numbers as the university reads them: its time zone
// (`timezone` in #app-config, the server's TIMEZONE) and the page's language.

import { t } from "/static/js/lib/i18n.js";

const config = JSON.parse(document.getElementById("app-config").textContent);
const locale = document.documentElement.lang || "es-CL";
const timeZone = config.timezone;

// Times on the 24-hour clock, as Chilean timetables and class blocks are written.
const clock = { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone };
const dateTime = new Intl.DateTimeFormat(locale, { day: "numeric", month: "short", year: "numeric", ...clock });
const timeOnly = new Intl.DateTimeFormat(locale, clock);
// Calendar dates ("2026-11-03") are read at UTC noon and shown in UTC: no zone can shift them a day.
const calendarDate = new Intl.DateTimeFormat(locale,
  { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
const shortDate = new Intl.DateTimeFormat(locale, { day: "numeric", month: "short", timeZone: "UTC" });
const percent = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 });
const seconds = new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });

const MISSING = () => t("common.missing");

/** An ISO 8601 timestamp as date and time ("27 nov 2026, 10:02"). */
export function formatDateTime(iso) {
  return iso ? dateTime.format(new Date(iso)) : MISSING();
}

/** The time of an ISO 8601 timestamp or of unix seconds ("10:02"). */
export function formatTime(moment) {
  if (moment === null || moment === undefined) {
    return MISSING();
  }
  return timeOnly.format(typeof moment === "number" ? new Date(moment * 1000) : new Date(moment));
}

/** The local calendar date of an ISO 8601 timestamp, as YYYY-MM-DD. */
export function localDate(iso) {
  return new Intl.DateTimeFormat("en-CA", { timeZone }).format(new Date(iso));
}

/** A calendar date "YYYY-MM-DD" ("3 nov 2026"; `short`: "3 nov"). */
export function formatDate(isoDate, { short = false } = {}) {
  if (!isoDate) {
    return MISSING();
  }
  return (short ? shortDate : calendarDate).format(new Date(`${isoDate}T12:00:00Z`));
}

/** A fraction 0–1 as a whole percentage ("67 %"). */
export function formatPercent(fraction) {
  return fraction === null || fraction === undefined ? MISSING() : percent.format(fraction);
}

/** Milliseconds as seconds ("1,05 s"). */
export function formatSeconds(ms) {
  return ms === null || ms === undefined ? MISSING() : t("common.seconds", { value: seconds.format(ms / 1000) });
}

/** A number, or the missing mark. */
export function formatNumber(value) {
  return value === null || value === undefined ? MISSING() : value.toLocaleString(locale);
}

/** Time left as a clock ("14:05", "1:02:09"); never negative. */
export function formatTimeLeft(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = String(total % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${secs}` : `${minutes}:${secs}`;
}
