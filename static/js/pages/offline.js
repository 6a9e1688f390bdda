// The installed scanner's offline page (/asistencia/offline). The service
// worker answers with it any scanner URL the phone opens without a network
// (a reload in a dead Wi-Fi spot), so it stands at that URL: "Reintentar",
// and the network's return, go back to that very URL — the class code kept.
// It says whether the day's device login is still kept on the phone
// (kept_session.js): with no token offline it cannot name the owner, only
// that a login waits; the scanner checks the owner once it is back.
//
// "Back" is the server answering, not the browser's `online` event alone:
// that event can come before the network carries anything (and, in some
// browsers, the service worker still sees the network down), so the page
// asks the server on that event and every few seconds — a HEAD of its own
// URL, which the service worker leaves to the network — and reloads once
// it answers.

import { keptUntil } from "/static/js/lib/kept_session.js";
import { t } from "/static/js/lib/i18n.js";
import { say } from "./dom.js";
import { formatTime } from "./format.js";

const SCANNER = "/asistencia/scan";
const PROBE_EVERY_MS = 4000;

/** Reload once the server answers this page's URL (any HTTP answer: it is reachable). */
async function probe() {
  try {
    await fetch(location.href, { method: "HEAD", cache: "no-store" });
  } catch {
    return;
  }
  location.reload();
}

if (location.pathname.startsWith(SCANNER)) {
  document.getElementById("offline-retry").href = `${location.pathname}${location.search}`;
  document.getElementById("offline-resumes").hidden = false;
  globalThis.addEventListener("online", probe);
  setInterval(probe, PROBE_EVERY_MS);
}
const until = await keptUntil();
if (until !== null) {
  say(document.getElementById("offline-login"), t("offline.login_kept", { time: formatTime(until) }));
}
