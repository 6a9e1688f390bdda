// The projector page (/asistencia/sessions/{id}/projector), for a classroom
// projector: the rotating codes drawn here from the text frames the server
// sends (protocol §5.3), as large as the screen allows; the course, the join
// code and a join QR; the countdown, the time left and the live counters.
// It reconnects by itself and projects again without a reload.

import { drawQr } from "/static/js/lib/qr_encode.js";
import { t } from "/static/js/lib/i18n.js";
import { LiveSocket, State } from "/static/js/lib/socket.js";
import { failPage, showPageError, startPage } from "./chrome.js";
import { formatTimeLeft } from "./format.js";
import { LiveCounters } from "./live_counters.js";
import { drawFrame, gridSide } from "./qr_frame.js";

const $ = (id) => document.getElementById(id);
const projector = $("projector");
const sessionId = Number(projector.dataset.sessionId);
const stage = $("stage");
const frameCanvas = $("qr-frame");
const stageMessage = $("stage-message");
const timeLeft = $("time-left");
const connectionStatus = $("connection");
const fullscreenButton = $("fullscreen");
const openButton = $("open-draft");
// What the whole room may see: how many joined and where they are, never who.
const counters = new LiveCounters($("counters"), [
  { key: "joined", sum: ["joined"] },
  { key: "in_progress", sum: ["in_progress"] },
  { key: "present", sum: ["present", "late"] },
  { key: "doubtful", sum: ["doubtful"] },
], { progress: $("class-progress") });

const page = await startPage({ devRole: "profesor", roles: ["profesor", "admin"] });
let grid = 1;
let lastTexts = null;
let closed = false;
let wakeLock = null;
let socket = null;

function showMessage(text, { big = false, offline = false } = {}) {
  frameCanvas.hidden = true;
  stageMessage.hidden = false;
  stageMessage.classList.toggle("stage-countdown", big);
  stageMessage.classList.toggle("stage-offline", offline);
  stageMessage.textContent = text;
}

/** The device pixels the codes may take: the stage's shorter side. */
function stagePixels() {
  const ratio = globalThis.devicePixelRatio || 1;
  return Math.floor(Math.min(stage.clientWidth, stage.clientHeight) * ratio);
}

function drawCodes(texts) {
  lastTexts = texts;
  drawFrame(frameCanvas, texts, { pixels: stagePixels(), grid });
  frameCanvas.hidden = false;
  stageMessage.hidden = true;
}

function showSession(session) {
  const facts = [session.course_code, session.room && t("projector.room", { room: session.room })];
  $("course-meta").textContent = facts.filter(Boolean).join(" · ");
  $("course-name").textContent = session.course_name;
  document.title = `${t("projector.title")} · ${session.course_code} · ${t("app.name")}`;
  $("join-code").textContent = session.join_code;
  // An absolute link: the phones that scan it are not on this page.
  const joinUrl = new URL(`/asistencia/scan?code=${encodeURIComponent(session.join_code)}`, location.origin).href;
  $("join-url").textContent = joinUrl;
  // The big codes are not links: a phone's camera app would show gibberish.
  const scanPage = new URL("/asistencia/scan", location.origin);
  $("scan-with").textContent = t("projector.scan_with", { url: `${scanPage.host}${scanPage.pathname}` });
  const joinQr = $("join-qr");
  const ratio = globalThis.devicePixelRatio || 1;
  const { size } = drawQr(joinQr, joinUrl, { pixels: Math.round(joinQr.parentElement.clientWidth * ratio) });
  joinQr.style.width = `${size / ratio}px`;
  counters.update(session.counters);
}

function showTimeLeft(ms) {
  timeLeft.textContent = formatTimeLeft(ms);
}

function showClosed() {
  closed = true;
  socket?.stop();
  releaseWakeLock();
  showMessage(t("projector.closed"));
  $("join-panel").hidden = true;
  timeLeft.textContent = formatTimeLeft(0);
  connectionStatus.textContent = t("projector.closed_status");
  projector.dataset.state = "closed";
}

/** A draft has no clock and no codes yet: say so under the course's name, with the way to open it. */
async function showDraft() {
  showMessage(t("projector.not_open"));
  $("join-panel").hidden = true;
  connectionStatus.textContent = t("projector.not_open_status");
  projector.dataset.state = "draft";
  openButton.hidden = false;
  try {
    const draft = await page.api.get(`/api/sessions/${sessionId}`);
    $("course-name").textContent = draft.course_name;
    $("course-meta").textContent = draft.course_code;
  } catch (error) {
    failPage(error);
  }
}

/** Open the draft from this screen when class starts (idempotent on the server), then project it. */
async function openDraft() {
  openButton.disabled = true;
  try {
    await page.api.post(`/api/sessions/${sessionId}/open`, {});
  } catch (error) {
    openButton.disabled = false;
    failPage(error);
    return;
  }
  openButton.hidden = true;
  $("join-panel").hidden = false;
  showMessage(t("projector.connecting"));
  await project();
}

async function project() {
  let started;
  try {
    started = await socket.request("project", { session: sessionId });
  } catch (error) {
    if (error.code === "SESSION_CLOSED") {
      showClosed();
    } else if (error.code === "SESSION_NOT_OPEN") {
      await showDraft();
    } else if (error.isTokenError) {
      failPage(error);
    } else {
      // The socket dropped mid-request: the next connection asks again.
      connectionStatus.textContent = t("projector.reconnecting");
    }
    return;
  }
  grid = gridSide(started.per_frame);
  showSession(started.session);
  showTimeLeft(Date.parse(started.session.ends_at) - Date.now());
  connectionStatus.textContent = "";
  projector.dataset.state = "projecting";
}

function onMessage(message) {
  if (closed) {
    return;
  }
  if (message.type === "countdown") {
    showMessage(String(message.seconds_left), { big: true });
  } else if (message.type === "frame") {
    showTimeLeft(message.time_left_ms);
    if (message.qrs.length > 0) {
      drawCodes(message.qrs);
    } else if (message.time_left_ms === 0) {
      showMessage(t("projector.time_up"));
    }
  } else if (message.type === "event" && message.event === "counters") {
    counters.update(message.data.counters);
  } else if (message.type === "event" && message.event === "closed") {
    counters.update(message.data.counters);
    showClosed();
  }
}

function onStateChange(state, detail) {
  if (closed) {
    return;
  }
  if (state === State.RECONNECTING) {
    // A code shown past its connection is a dead code: students would aim at it for nothing.
    showMessage(t("projector.offline"), { offline: true });
    connectionStatus.textContent = t("projector.reconnecting");
    projector.dataset.state = "reconnecting";
  } else if (state === State.CLOSED && detail?.code !== 1000) {
    if (detail?.error) {
      failPage(detail.error);
    } else {
      showPageError(t(detail?.code === 4404 ? "error.code.SESSION_NOT_FOUND" : "projector.socket_closed"));
    }
  }
}

// --- the screen itself: full screen, awake, codes redrawn when it resizes ---------------

async function keepAwake() {
  if (!navigator.wakeLock || closed || document.hidden) {
    return;
  }
  try {
    wakeLock = await navigator.wakeLock.request("screen");
  } catch {
    // Not granted (battery saver, policy): the display's own sleep settings apply.
    wakeLock = null;
  }
}

function releaseWakeLock() {
  wakeLock?.release().catch(() => {});
  wakeLock = null;
}

function showFullscreenState() {
  fullscreenButton.textContent = t(document.fullscreenElement ? "projector.fullscreen_exit" : "projector.fullscreen");
}

async function toggleFullscreen() {
  try {
    if (document.fullscreenElement) {
      await document.exitFullscreen();
    } else {
      await projector.requestFullscreen();
    }
  } catch {
    // Refused by the browser (no user gesture, a kiosk policy): F11 still works.
  }
}

if (page !== null) {
  showMessage(t("projector.connecting"));
  fullscreenButton.hidden = !document.fullscreenEnabled;
  fullscreenButton.addEventListener("click", toggleFullscreen);
  openButton.addEventListener("click", openDraft);
  document.addEventListener("fullscreenchange", showFullscreenState);
  document.addEventListener("visibilitychange", keepAwake);
  new ResizeObserver(() => {
    if (lastTexts !== null && !frameCanvas.hidden) {
      drawCodes(lastTexts);
    }
  }).observe(stage);
  socket = new LiveSocket({ tokens: page.tokens, onReady: project, onMessage, onStateChange });
  socket.start();
  keepAwake();
}
