// The live dashboard (/asistencia/sessions/{id}/dashboard): the `watch`
// snapshot, then every event of the session (protocol §5.4) — who joined,
// their rounds, status, certainty and failures, a professor's override —
// live; filter the roster by where students stand; reset a failed student,
// close or cancel the session. A new snapshot (after a reconnection, or the
// server's `snapshot` event) replaces everything shown. Students' new phones
// waiting to count are listed, each approved with one press (a lost phone
// before class).

import { t } from "/static/js/lib/i18n.js";
import { LiveSocket, State } from "/static/js/lib/socket.js";
import { failPage, showError, showPageError, startPage, toast } from "./chrome.js";
import { cancelSession } from "./cancel_session.js";
import { closeSession } from "./close_session.js";
import { fill, h, say } from "./dom.js";
import { formatDateTime, formatTime, formatTimeLeft } from "./format.js";
import { LiveCounters } from "./live_counters.js";
import { GROUPS, inGroup, Roster, rosterRow } from "./roster.js";

const $ = (id) => document.getElementById(id);
const sessionId = Number($("dashboard").dataset.sessionId);
const failure = $("dashboard-error");
const connectionStatus = $("connection");
const closeButton = $("close-session");
const cancelButton = $("cancel-session");
const rosterFilter = $("roster-filter");
const rosterRows = $("roster-rows");
const counters = new LiveCounters($("counters"),
  ["joined", "in_progress", "present", "late", "doubtful", "justified", "failed", "absent"].map((key) => ({ key, sum: [key] })),
  { progress: $("class-progress") });

const page = await startPage({ devRole: "profesor", roles: ["profesor", "admin"] });
let session = null;
let roster = new Roster();
let rows = new Map(); // user id → the student's <tr>, in roster order
let fraudTotal = 0;
let socket = null;

function isActive() {
  return session.status === "active";
}

function stateText() {
  if (!isActive()) {
    return t(`session.status.${session.status}`);
  }
  const left = Date.parse(session.ends_at) - Date.now();
  return left > 0 ? t("dashboard.time_left", { time: formatTimeLeft(left) }) : t("dashboard.ending");
}

function renderSession() {
  $("session-title").textContent = `${session.course_name} (${session.course_code})`;
  document.title = `${t("dashboard.title")} · ${session.course_code} · ${t("app.name")}`;
  const facts = [
    ["join_code", session.join_code],
    ["room", session.room],
    ["block", session.block],
    ["rounds", String(session.rounds)],
    // A draft has no clock until it is opened.
    ["ends_at", session.status === "draft" ? null : formatTime(session.closed_at ?? session.ends_at)],
    ["state", stateText()],
  ].filter(([, value]) => value);
  fill($("session-meta"), facts.map(([key, value]) =>
    h("div", { "data-fact": key }, h("dt", {}, t(`dashboard.meta.${key}`)), h("dd", {}, value))));
  closeButton.hidden = !isActive();
  cancelButton.hidden = session.status === "cancelled";
  $("projector-link").hidden = !isActive();
  say($("cancelled-note"), session.status === "cancelled"
    ? t("cancel.reason_shown", { reason: session.cancel_reason }) : "");
}

/** Show only the rows of the chosen group; each option says how many are in it. */
function applyFilter() {
  const students = [...roster.students.values()];
  for (const option of rosterFilter.options) {
    option.textContent = t(`dashboard.filter.${option.value}`,
      { count: students.filter((student) => inGroup(student, option.value)).length });
  }
  const group = GROUPS.includes(rosterFilter.value) ? rosterFilter.value : "all";
  let shown = 0;
  for (const [userId, row] of rows) {
    row.hidden = !inGroup(roster.get(userId), group);
    shown += row.hidden ? 0 : 1;
  }
  $("roster-filter-empty").hidden = shown > 0 || roster.size === 0;
}

function renderRosterState() {
  $("roster").hidden = roster.size === 0;
  say($("roster-empty"), roster.size ? "" : t("dashboard.empty", { code: session.join_code }));
  $("fraud-total").textContent = t("dashboard.fraud_total", { count: fraudTotal });
  applyFilter();
}

function renderRoster() {
  rows = new Map(roster.sorted().map((student) => [student.user_id, rosterRow(student, session.rounds, reset)]));
  fill(rosterRows, [...rows.values()]);
  renderRosterState();
}

/** Redraw the rows of `userIds` only: an event changes one student of a roster of hundreds. */
function renderStudents(userIds) {
  for (const userId of userIds) {
    const student = roster.get(userId);
    const row = rosterRow(student, session.rounds, reset);
    const shown = rows.get(userId);
    if (shown !== undefined) {
      shown.replaceWith(row);
    } else {
      // A newcomer: in name order, before whoever follows them.
      const next = roster.following(student);
      rosterRows.insertBefore(row, next === null ? null : rows.get(next.user_id));
    }
    rows.set(userId, row);
  }
  renderRosterState();
}

function takeSnapshot(snapshot) {
  session = snapshot.session;
  roster = new Roster(snapshot.students);
  fraudTotal = snapshot.fraud.total;
  counters.update(session.counters);
  renderSession();
  renderRoster();
  $("dashboard").setAttribute("aria-busy", "false");
}

async function watch() {
  try {
    takeSnapshot(await socket.request("watch", { session: sessionId }));
    connectionStatus.textContent = "";
  } catch (error) {
    if (error.isTokenError) {
      failPage(error);
    } else {
      // The socket dropped mid-request: the next connection asks again.
      connectionStatus.textContent = t("dashboard.reconnecting");
    }
  }
}

function onMessage(message) {
  if (message.type !== "event" || session === null) {
    return;
  }
  const { event, data } = message;
  if (event === "snapshot") {
    takeSnapshot(data);
    return;
  }
  counters.update(data.counters);
  if (event === "scan_failed") {
    fraudTotal += 1;
  }
  if (event === "opened") {
    session = { ...session, status: "active", open: true, opened_at: data.opened_at, ends_at: data.ends_at };
    renderSession();
  }
  if (event === "closed") {
    session = { ...session, status: "closed", open: false, closed_at: data.closed_at, closed_by: data.closed_by };
    renderSession();
  }
  if (event === "cancelled") {
    session = { ...session, status: "cancelled", open: false, cancel_reason: data.reason };
    renderSession();
  }
  renderStudents(roster.apply(event, data));
}

function onStateChange(state, detail) {
  if (state === State.RECONNECTING) {
    connectionStatus.textContent = t("dashboard.reconnecting");
  } else if (state === State.CLOSED && detail?.code !== 1000) {
    if (detail?.error) {
      failPage(detail.error);
    } else {
      showPageError(t(detail?.code === 4404 ? "error.code.SESSION_NOT_FOUND" : "projector.socket_closed"));
    }
  }
}

async function reset(student) {
  say(failure, "");
  try {
    const changed = await page.api.post(`/api/sessions/${sessionId}/students/${student.user_id}/reset`);
    roster.put(changed);
    renderStudents([changed.user_id]);
    toast(t("dashboard.reset_done", { name: student.full_name || student.username }));
  } catch (error) {
    showError(failure, error);
  }
}

// New phones waiting for their cool-off, read again this often (and after each approval).
const PENDING_PHONES_MS = 30_000;

async function loadPendingPhones() {
  const { devices } = await page.api.get("/api/devices/pending");
  $("pending-phones").hidden = devices.length === 0;
  fill($("pending-phones-list"), devices.map((device) => {
    const name = device.full_name || device.username;
    return h("li", { "data-device-id": device.id },
      h("span", {}, h("strong", {}, name), " · ", device.username, " · ",
        t("dashboard.pending.until", { date: formatDateTime(device.activates_at) })),
      h("button", {
        type: "button", class: "button button-small",
        "aria-label": t("dashboard.pending.approve_label", { name }),
        onclick: () => approvePhone(device, name),
      }, t("dashboard.pending.approve")));
  }));
}

async function approvePhone(device, name) {
  say(failure, "");
  try {
    await page.api.post(`/api/devices/${device.id}/approve`);
    toast(t("dashboard.pending.done", { name }));
  } catch (error) {
    showError(failure, error);
  }
  await loadPendingPhones().catch((error) => showError(failure, error));
}

async function close() {
  say(failure, "");
  try {
    const closed = await closeSession(page.api, session);
    if (closed !== null) {
      session = closed;
      counters.update(closed.counters);
      renderSession();
      renderStudents(roster.apply("closed", {}));
      toast(t("close.done"));
    }
  } catch (error) {
    showError(failure, error);
  }
}

async function cancel() {
  say(failure, "");
  const cancelled = await cancelSession(page.api, session);
  if (cancelled !== null) {
    session = cancelled;
    renderSession();
    toast(t("cancel.done"));
  }
}

if (page !== null) {
  closeButton.addEventListener("click", close);
  cancelButton.addEventListener("click", cancel);
  rosterFilter.addEventListener("change", applyFilter);
  socket = new LiveSocket({ tokens: page.tokens, onReady: watch, onMessage, onStateChange });
  socket.start();
  loadPendingPhones().catch((error) => showError(failure, error));
  setInterval(() => loadPendingPhones().catch(() => {}), PENDING_PHONES_MS);
  // The time left counts down here; the server's events say when the session really closes.
  setInterval(() => {
    if (session !== null && isActive()) {
      renderSession();
    }
  }, 1000);
}
