// The student's device page (/asistencia/device), driven by the access state:
// enroll this phone, log it in for the day, see and revoke own devices.
// The session key a login derives is kept on the phone for the day
// (device_login.js): the scanner finds it without another passkey prompt.

import {
  deviceFingerprint,
  enrollDevice,
  forgetSession,
  loginDevice,
  logoutDevice,
  passkeySupport,
  readAccessState,
} from "/static/js/lib/device_login.js";
import { t } from "/static/js/lib/i18n.js";
import { showError, startPage, toast } from "./chrome.js";
import { confirmed, fill, h, say } from "./dom.js";
import { formatDateTime, formatTime } from "./format.js";

const $ = (id) => document.getElementById(id);
const access = $("access");
const title = $("access-title");
const text = $("access-text");
const failure = $("access-error");
const progress = $("access-progress");
const buttons = { enroll: $("enroll"), login: $("login"), logout: $("logout") };
const deviceList = $("devices");
const revokeDialog = $("revoke-dialog");

const page = await startPage({ devRole: "alumno", roles: ["alumno"] });
const fingerprint = deviceFingerprint();
let support = "READY";
let busy = false;

function reason(device) {
  return t(`device.reason.${device.revoked_reason}`);
}

/** What the access card says and offers, from the access state and the student's devices (newest first). */
function accessView(state, devices) {
  switch (state.state) {
    case "READY":
      return { key: "READY", params: { time: formatTime(state.session_expires_at) }, actions: ["logout"] };
    case "ENROLLED_NO_SESSION":
      return { key: "ENROLLED_NO_SESSION", actions: ["login"] };
    case "BLOCKED":
      if (state.reason === "REPLACEMENT_PENDING") {
        return { key: "REPLACEMENT_PENDING", params: { date: formatDateTime(state.device.activates_at) }, actions: [] };
      }
      if (state.reason === "OTHER_DEVICE") {
        return { key: "OTHER_DEVICE", params: { date: formatDateTime(state.device.enrolled_at) }, actions: ["enroll"],
                 replaces: true };
      }
      return { key: "CLONE_SUSPECTED", actions: ["enroll"] };
    default: {
      // Not enrolled; if this very phone was enrolled before, say when and why it stopped counting.
      const mine = devices.find((device) => device.fingerprint === fingerprint);
      if (mine?.status === "revoked") {
        return { key: "REVOKED_HERE", params: { date: formatDateTime(mine.revoked_at), reason: reason(mine) },
                 actions: ["enroll"] };
      }
      return { key: "NOT_ENROLLED", actions: ["enroll"] };
    }
  }
}

function renderAccess(state, devices) {
  const view = accessView(state, devices);
  access.dataset.state = view.key;
  title.textContent = t(`device.state.${view.key}.title`);
  text.textContent = t(`device.state.${view.key}.text`, view.params);
  buttons.enroll.textContent = t(view.replaces ? "device.action.enroll_replace" : "device.action.enroll");
  for (const [action, button] of Object.entries(buttons)) {
    button.hidden = !view.actions.includes(action);
    button.disabled = busy || (action !== "logout" && support === "UNSUPPORTED");
  }
  if (state.state !== "READY") {
    forgetSession();
  }
  access.setAttribute("aria-busy", "false");
}

function deviceItem(device) {
  const here = device.fingerprint === fingerprint;
  // Named by when it was enrolled: a student tells their phones apart by that, not by a number.
  const enrolled = formatDateTime(device.enrolled_at ?? device.created_at);
  const details = [];
  if (device.status === "revoked") {
    details.push(t("device.list.revoked_at", { date: formatDateTime(device.revoked_at), reason: reason(device) }));
  } else {
    details.push(device.last_login_at
      ? t("device.list.last_login", { date: formatDateTime(device.last_login_at) })
      : t("device.list.never_logged_in"));
  }
  return h("li", { class: here ? "device device-here" : "device" },
    h("div", { class: "device-head" },
      h("strong", {}, t("device.list.name", { date: enrolled })),
      here ? h("span", { class: "tag" }, t("device.list.this")) : null,
      h("span", { class: `badge badge-device-${device.status}` }, t(`device.status.${device.status}`))),
    details.map((detail) => h("p", { class: "device-detail" }, detail)),
    device.status === "enrolled"
      ? h("button", {
          type: "button", class: "button button-danger button-small",
          "aria-label": t("device.list.revoke_label", { date: enrolled }),
          onclick: () => revoke(device),
        }, t("device.list.revoke"))
      : null);
}

function renderDevices(devices) {
  fill(deviceList, devices.map(deviceItem));
  $("devices-empty").hidden = devices.length > 0;
}

async function refresh() {
  const [state, { devices }] = await Promise.all([
    readAccessState(page.api),
    page.api.get("/api/enrollment/devices"),
  ]);
  renderAccess(state, devices);
  renderDevices(devices);
}

/** Run one action (enroll, login, logout, revoke): one at a time, its progress and outcome said aloud. */
async function act(working, run, done) {
  if (busy) {
    return;
  }
  busy = true;
  const enabled = [...Object.values(buttons), ...deviceList.querySelectorAll("button")].filter((b) => !b.disabled);
  for (const button of enabled) {
    button.disabled = true;
  }
  say(failure, "");
  say(progress, working ? t(working) : "");
  try {
    const result = await run();
    toast(t(typeof done === "function" ? done(result) : done));
  } catch (error) {
    showError(failure, error);
  } finally {
    say(progress, "");
    busy = false;
  }
  try {
    await refresh();
  } catch (error) {
    showError(failure, error);
    // The page could not learn what changed: leave it as it was, usable for another try.
    for (const button of enabled) {
      button.disabled = false;
    }
  }
  // The button pressed may be gone now: keep the keyboard where the news is.
  title.focus();
}

async function revoke(device) {
  if (await confirmed(revokeDialog)) {
    await act(null, () => page.api.delete(`/api/enrollment/devices/${device.id}`), "device.done.revoke");
  }
}

if (page !== null) {
  buttons.enroll.addEventListener("click", () => act("device.working.enroll", () => enrollDevice(page.api),
    (device) => (device?.status === "pending" ? "device.done.enroll_pending" : "device.done.enroll")));
  buttons.login.addEventListener("click", () => act("device.working.login",
                                                    () => loginDevice(page.api, { owner: page.tokens.claims?.userId }),
                                                    "device.done.login"));
  buttons.logout.addEventListener("click", () => act(null, () => logoutDevice(page.api), "device.done.logout"));
  support = await passkeySupport();
  if (support !== "READY") {
    say($("access-support"), t(support === "UNSUPPORTED" ? "error.code.PASSKEY_UNSUPPORTED" : "device.no_screen_lock"));
  }
  try {
    await refresh();
  } catch (error) {
    showError(failure, error);
    access.setAttribute("aria-busy", "false");
  }
}
