// The student's scanner (/asistencia/scan?code=ABCDEF, the join QR's link):
// whether the class the link names is still open (a closed one says so before
// any passkey prompt), where this phone stands (access state); a first-time phone enrolled here
// and logged in right after (two passkey prompts, one tap), a returning one
// logged in with one; joining by the code the link carried, then the camera
// answering the student's own codes round after round (docs/protocol.md §6).
//
// The day's session key is kept on the phone (device_login.js,
// docs/phone-storage.md): a reload finds it and scans on without a prompt
// (the newest login is the one that scans; joining again re-seals the code under it).

import { ApiError } from "/static/js/lib/api.js";
import {
  currentSession,
  deviceFingerprint,
  enrollDevice,
  forgetSession,
  loginDevice,
  passkeySupport,
  readAccessState,
  restoreSession,
} from "/static/js/lib/device_login.js";
import { t } from "/static/js/lib/i18n.js";
import { cameraZoom, setCameraZoom } from "/static/js/lib/camera.js";
import { ScanFeedback } from "/static/js/lib/scan_feedback.js";
import { LiveSocket, State } from "/static/js/lib/socket.js";
import { startReading } from "./camera_reader.js";
import { errorText, showError, startPage, toast } from "./chrome.js";
import { say } from "./dom.js";
import { formatDateTime } from "./format.js";
import { registerServiceWorker } from "./install.js";
import { ScanRounds } from "/static/js/lib/scan_rounds.js";
import { statusBadge } from "./status_badge.js";

const $ = (id) => document.getElementById(id);
const step = $("step");
const stepTitle = $("step-title");
const stepError = $("step-error");
const stepProgress = $("step-progress");
const toDevice = $("to-device");
const loginButton = $("login");
const enrollButton = $("enroll");
const joinForm = $("join-form");
const joinInput = $("join-code");
const joinError = $("join-error");
const scanner = $("scanner");
const video = $("camera");
const scanStatus = $("scan-status");
const scanWarning = $("scan-warning");
const cameraRetry = $("camera-retry");
const outcome = $("outcome");
const feedback = new ScanFeedback($("scan-seen"));
const zoom = $("zoom");

// Refusals that mean the connection, not the scan, failed: the next sighting tries again.
const CONNECTION_CODES = new Set(["NETWORK_ERROR", "CONNECTION_LOST", "NOT_CONNECTED", "TIMEOUT"]);
// Refusals that only mean "this code is gone, a new one comes": nothing to tell the student.
const QUIET_CODES = new Set(["QR_EXPIRED", "QR_ALREADY_USED"]);
// Refusals the server answers when this phone's key is not the one it holds: log in again.
const RELOGIN_CODES = new Set(["PROOF_INVALID", "NOT_READY"]);
// A class code as the server takes it (after cleanCode).
const JOIN_CODE = /^[A-Z]{6}$/;
// Login refusals after which only enrolling again helps.
const ENROLL_CODES = new Set(["NOT_ENROLLED", "DEVICE_REVOKED", "SIGN_COUNT_REGRESSION", "DEVICE_NOT_FOUND"]);

registerServiceWorker();
const page = await startPage({ devRole: "alumno", roles: ["alumno"] });
let socket = null;
let rounds = null;
let joinedCode = null;
let stopCamera = null;
let cameraStarting = false;
let cameraState = null;
let finished = false;

/** What the class code field holds, as the server reads it: letters only, upper case. */
function cleanCode(text) {
  return (text ?? "").toUpperCase().replace(/[\s-]+/g, "");
}

// --- the class the link names, then where the phone stands ----------------------------------

/** The page's start (and a code typed before it got further): the class first, then the phone. */
async function begin(code) {
  if (code && !(await classIsOpen(code))) {
    return;
  }
  const support = await passkeySupport();
  if (support === "UNSUPPORTED") {
    showStep("NO_PASSKEY");
    return;
  }
  try {
    await checkAccess(support);
  } catch (error) {
    step.setAttribute("aria-busy", "false");
    showError(stepError, error);
  }
}

/**
 * Whether the class `code` names is open, read with the token alone: a draft,
 * closed, cancelled or unknown class is said so here, before any passkey prompt. A
 * lookup that fails otherwise (no network, a limit) decides nothing: the join says it later.
 */
async function classIsOpen(code) {
  if (!JOIN_CODE.test(code)) {
    refuseCode(t("scan.join.invalid"));
    return false;
  }
  let found;
  try {
    found = await page.api.get(`/api/attendance/session?code=${code}`);
  } catch (error) {
    if (error instanceof ApiError && error.code === "JOIN_CODE_UNKNOWN") {
      refuseCode(errorText(error));
      return false;
    }
    return true;
  }
  if (found.state === "open") {
    return true;
  }
  if (found.state === "draft") {
    refuseCode(t("error.code.SESSION_NOT_OPEN"));
    return false;
  }
  showClosed(found.state, [found.course_name, found.course_code].filter(Boolean).join(" · "));
  return false;
}

/** The code in the field cannot be used: say why beside it. */
function refuseCode(text) {
  showJoinForm();
  say(joinError, text);
  joinInput.setAttribute("aria-invalid", "true");
}

function showStep(key, { params = {}, action = null } = {}) {
  stopReading();
  step.hidden = false;
  joinForm.hidden = true;
  scanner.hidden = true;
  outcome.hidden = true;
  stepTitle.textContent = t(`scan.step.${key}.title`);
  $("step-text").textContent = t(`scan.step.${key}.text`, params);
  step.dataset.state = key;
  toDevice.hidden = action !== "device";
  loginButton.hidden = action !== "login";
  loginButton.disabled = false;
  enrollButton.hidden = action !== "enroll";
  enrollButton.disabled = false;
  step.setAttribute("aria-busy", "false");
}

/** The student this page's token names: the owner of the device login kept on the phone. */
function owner() {
  return page.tokens.claims?.userId;
}

/** Where this phone stands, and the one thing to do about it. */
async function checkAccess(support) {
  const state = await readAccessState(page.api);
  switch (state.state) {
    case "READY":
    case "ENROLLED_NO_SESSION":
      // The server holds a key: this phone scans on with the one it kept, if it kept it.
      if (state.state === "READY" && (await restoreSession(owner())) !== null) {
        await ready();
      } else {
        forgetSession();
        showStep("LOGIN", { action: "login" });
      }
      return;
    case "BLOCKED":
      forgetSession();
      showStep(state.reason === "OTHER_DEVICE" ? "OTHER_DEVICE" : "CLONE_SUSPECTED", { action: "device" });
      return;
    default: {
      forgetSession();
      const { devices } = await page.api.get("/api/enrollment/devices");
      const mine = devices.find((device) => device.fingerprint === deviceFingerprint());
      if (support !== "READY") {
        // No passkey can be made here: a professor marks the student by hand.
        showStep("NO_PASSKEY");
      } else if (mine?.status === "revoked") {
        showStep("REVOKED_HERE", {
          params: { date: formatDateTime(mine.revoked_at), reason: t(`device.reason.${mine.revoked_reason}`) },
          action: "enroll",
        });
      } else {
        showStep("NOT_ENROLLED", { action: "enroll" });
      }
    }
  }
}

/** A first-time phone: its passkey made here, then the day's login at once; the class code stays. */
async function enrollHere() {
  enrollButton.disabled = true;
  say(stepError, "");
  say(stepProgress, t("scan.working.enroll"));
  let device;
  try {
    device = await enrollDevice(page.api);
  } catch (error) {
    say(stepProgress, "");
    showError(stepError, error);
    enrollButton.disabled = false;
    stepTitle.focus();
    return;
  }
  if (device?.status !== "enrolled") {
    // Held for a cool-off or a professor's approval: the access state says so.
    await checkAccess("READY");
    return;
  }
  showStep("LOGIN", { action: "login" });
  await logIn();
}

async function logIn() {
  loginButton.disabled = true;
  say(stepError, "");
  say(stepProgress, t("scan.working.login"));
  try {
    await loginDevice(page.api, { owner: owner() });
  } catch (error) {
    say(stepProgress, "");
    if (error instanceof ApiError && ENROLL_CODES.has(error.code)) {
      // The phone is no longer enrolled: the access state says why and what to do.
      await checkAccess("READY").catch((failure) => showError(stepError, failure));
    } else {
      showError(stepError, error);
    }
    loginButton.disabled = false;
    stepTitle.focus();
    return;
  }
  say(stepProgress, "");
  await ready();
}

// --- joining -----------------------------------------------------------------------

/** This tab holds a session key: follow the class over the socket and join it. */
async function ready() {
  const session = currentSession();
  rounds = new ScanRounds({
    session,
    send: (body) => call("scan", "/api/attendance/scan", body),
    onAnswered: answered,
    onRefused: refused,
  });
  socket ??= new LiveSocket({
    tokens: page.tokens, onReady: rejoin, onMessage: studentEvent, onStateChange: connection,
  });
  socket.start();
  const code = joinedCode ?? cleanCode(joinInput.value);
  if (code) {
    await join(code);
  } else {
    showJoinForm();
  }
}

function showJoinForm() {
  stopReading();
  hideStep();
  scanner.hidden = true;
  outcome.hidden = true;
  joinForm.hidden = false;
  joinInput.focus();
}

/** A command over the socket when it is up, else the same REST call (a lost socket never blocks a scan). */
async function call(type, path, body) {
  if (socket.state === State.OPEN) {
    try {
      return await socket.request(type, body);
    } catch (error) {
      if (!CONNECTION_CODES.has(error.code)) {
        throw error;
      }
    }
  }
  return page.api.post(path, body);
}

async function join(code) {
  const submit = joinForm.querySelector("button[type=submit]");
  submit.disabled = true;
  say(joinError, "");
  say(stepProgress, t("scan.working.join"));
  const overSocket = socket.state === State.OPEN;
  let progress;
  try {
    progress = await call("join", "/api/attendance/join", { code });
  } catch (error) {
    if (error instanceof ApiError && RELOGIN_CODES.has(error.code)) {
      needLogin(error);
    } else {
      showJoinForm();
      showError(joinError, error);
      joinInput.setAttribute("aria-invalid", "true");
    }
    return;
  } finally {
    submit.disabled = false;
    say(stepProgress, "");
  }
  joinInput.removeAttribute("aria-invalid");
  joinedCode = code;
  follow(progress);
  // Joined over REST while the socket came up: join over it too, to get this class's events.
  if (!overSocket && socket.state === State.OPEN) {
    await rejoin();
  }
}

/** After every (re)connection: join again over the socket, to get this class's events and the current state. */
async function rejoin() {
  if (joinedCode === null || finished) {
    return;
  }
  try {
    follow(await socket.request("join", { code: joinedCode }));
    reportCamera();
  } catch (error) {
    await refused(error);
  }
}

// --- scanning ----------------------------------------------------------------------------

function follow(progress) {
  if (!rounds.follow(progress)) {
    return;
  }
  hideStep();
  joinForm.hidden = true;
  const { session } = progress;
  $("class-title").textContent = session.course_name;
  $("class-meta").textContent = [session.course_code, session.room && t("scan.room", { room: session.room })]
    .filter(Boolean).join(" · ");
  showRounds(progress.rounds_completed);
  if (progress.state === "completed") {
    showDone(progress.status);
  } else if (!session.open) {
    showClosed(session.status === "cancelled" ? "cancelled" : "closed");
  } else if (progress.state === "failed") {
    scanner.hidden = false;
    stopReading();
    scanStatus.textContent = t("scan.status.failed");
  } else {
    scanner.hidden = false;
    startCamera();
  }
}

function showRounds(done) {
  const bar = $("rounds");
  bar.max = rounds.rounds;
  bar.value = done;
  $("rounds-label").textContent = t("scan.rounds", { done, rounds: rounds.rounds });
}

async function startCamera() {
  if (stopCamera !== null || cameraStarting || document.hidden || finished) {
    return;
  }
  cameraStarting = true;
  cameraRetry.hidden = true;
  scanStatus.textContent = t("scan.status.camera");
  try {
    const stop = await startReading(video, async (texts) => {
      feedback.frame(texts.length, texts.length > 0 ? await rounds.see(texts) : 0);
    });
    if (finished || document.hidden || rounds.state !== "scanning") {
      stop();
    } else {
      stopCamera = stop;
      $("viewfinder").hidden = false;
      feedback.start();
      offerZoom();
      reportCamera("CAMERA_OK");
      scanStatus.textContent = t("scan.status.looking", { round: rounds.currentRound, rounds: rounds.rounds });
    }
  } catch (error) {
    scanStatus.textContent = "";
    showError(scanWarning, error);
    cameraRetry.hidden = false;
    reportCamera(error.code ?? "CAMERA_FAILED");
  } finally {
    cameraStarting = false;
  }
}

function stopReading() {
  if (stopCamera !== null) {
    stopCamera();
    stopCamera = null;
  }
  $("viewfinder").hidden = true;
  feedback.stop();
  $("zoom-field").hidden = true;
}

/**
 * Tell the professor's dashboard whether this phone can scan (a denied camera is
 * not "still scanning"); said again after every join over the socket.
 */
function reportCamera(state = cameraState) {
  cameraState = state;
  if (state !== null && socket?.state === State.OPEN && rounds?.sessionId !== null) {
    socket.request("camera", { session: rounds.sessionId, state }).catch(() => {});
  }
}

/** A zoom slider, where the camera and the browser offer one (docs/readability.md). */
function offerZoom() {
  const range = cameraZoom(video);
  $("zoom-field").hidden = range === null;
  if (range !== null) {
    Object.assign(zoom, { min: range.min, max: range.max, step: range.step, value: range.value });
  }
}

function answered(reply) {
  say(scanWarning, "");
  if (reply.result === "completed") {
    showRounds(reply.rounds);
    showDone(reply.status);
    return;
  }
  showRounds(reply.round);
  scanStatus.textContent = t("scan.status.passed", { round: reply.round, next: reply.next_round });
}

async function refused(error) {
  if (!(error instanceof ApiError) || error.isTokenError) {
    showError(scanWarning, error);
    return;
  }
  if (CONNECTION_CODES.has(error.code)) {
    say(scanWarning, t("scan.warning.connection"));
    return;
  }
  if (error.code === "SESSION_CLOSED") {
    showClosed();
    return;
  }
  if (RELOGIN_CODES.has(error.code)) {
    needLogin(error);
    return;
  }
  if (error.code === "NOT_JOINED") {
    await join(joinedCode);
    return;
  }
  // Anything else may have used up an attempt, or finished the round elsewhere: ask where things stand.
  const progress = await readStatus();
  if (progress === null || QUIET_CODES.has(error.code) || error.code === "NO_ATTEMPTS_LEFT") {
    return;
  }
  if (progress.state === "scanning") {
    say(scanWarning, t("scan.warning.attempts", { message: errorText(error), count: progress.attempts_left }));
  } else if (progress.state === "failed") {
    say(scanWarning, errorText(error));
  }
}

/** The server holds another key than this tab (or none): touch the passkey again, then join again. */
function needLogin(error) {
  forgetSession();
  showStep("LOGIN", { action: "login" });
  showError(stepError, error);
  stepTitle.focus();
}

/** The end of the page: nothing more to scan in this class. */
function showOutcome(title, status, text) {
  finished = true;
  stopReading();
  socket?.stop();
  hideStep();
  joinForm.hidden = true;
  scanner.hidden = true;
  outcome.hidden = false;
  $("outcome-title").textContent = title;
  $("outcome-status").replaceChildren(...status);
  $("outcome-text").textContent = text;
  $("outcome-title").focus();
}

function showDone(status) {
  showOutcome(t("scan.done.title"), [t("scan.done.status"), " ", statusBadge(status)], t("scan.done.text"));
}

/** `state`: "closed" or "cancelled"; `course`: the class it was, when the page knows it only from its code. */
function showClosed(state = "closed", course = null) {
  showOutcome(t(`scan.${state}.title`), course === null ? [] : [course], t(`scan.${state}.text`));
}

function hideStep() {
  step.hidden = true;
  step.setAttribute("aria-busy", "false");
}

// --- the class's events ----------------------------------------------------------------------

/** The student's progress from the server, followed; null (and said why) when it could not be read. */
async function readStatus() {
  try {
    const progress = await page.api.get(`/api/attendance/status?session=${rounds.sessionId}`);
    follow(progress);
    return progress;
  } catch (error) {
    if (error instanceof ApiError && CONNECTION_CODES.has(error.code)) {
      say(scanWarning, t("scan.warning.connection"));
    } else {
      showError(scanWarning, error);
    }
    return null;
  }
}

function studentEvent(message) {
  if (message.type !== "event" || finished || rounds === null || rounds.sessionId === null) {
    return;
  }
  const { event, data } = message;
  if (data.session !== undefined && data.session !== rounds.sessionId) {
    return;
  }
  if (event === "reset") {
    rounds.forgetSightings();
    say(scanWarning, "");
    toast(t("scan.reset"));
    readStatus();
  } else if (event === "closed") {
    showClosed();
  } else if (event === "resync") {
    readStatus();
  }
}

function connection(state, detail) {
  if (finished) {
    return;
  }
  if (state === State.RECONNECTING) {
    say(scanWarning, t("scan.warning.connection"));
  } else if (state === State.OPEN && scanWarning.textContent === t("scan.warning.connection")) {
    say(scanWarning, "");
  } else if (state === State.CLOSED && detail?.error) {
    showError(scanWarning, detail.error);
  }
}

if (page !== null) {
  joinInput.value = cleanCode(new URLSearchParams(location.search).get("code"));
  loginButton.addEventListener("click", logIn);
  enrollButton.addEventListener("click", enrollHere);
  cameraRetry.addEventListener("click", startCamera);
  zoom.addEventListener("input", () => setCameraZoom(video, Number(zoom.value)).catch(() => offerZoom()));
  joinForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const code = cleanCode(joinInput.value);
    if (!JOIN_CODE.test(code)) {
      refuseCode(t("scan.join.invalid"));
    } else if (socket === null) {
      // Typed after the link's code was refused: the phone has not been looked at yet.
      begin(code);
    } else {
      join(code);
    }
  });
  // A hidden page keeps no camera open; coming back resumes where it was.
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) {
      stopReading();
    } else if (rounds?.state === "scanning" && !scanner.hidden) {
      startCamera();
    }
  });
  await begin(cleanCode(joinInput.value));
}
