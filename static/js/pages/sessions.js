// The professor's sessions page (/asistencia/sessions): their class
// sessions, active ones first, with the way to project, watch, see results
// or close each; and the form that opens a new one (prefilled when the
// legacy app launches it with ?course_code=&course_name=&semester=&block=&room=).

import { ApiError } from "/static/js/lib/api.js";
import { t } from "/static/js/lib/i18n.js";
import { showError, startPage, toast } from "./chrome.js";
import { closeSession } from "./close_session.js";
import { fill, h, say } from "./dom.js";
import { formatDateTime, formatTime } from "./format.js";
import { checkFields, focusField, markRefusedFields, prefill, sessionBody } from "./session_form.js";

const $ = (id) => document.getElementById(id);
const form = $("new-session");
const formError = $("new-session-error");
const list = $("session-list");
const listError = $("list-error");

const page = await startPage({ devRole: "profesor", roles: ["profesor", "admin"] });

function isActive(session) {
  return session.status === "active";
}

function stateText(session) {
  if (!isActive(session)) {
    return t(`session.status.${session.status}`);
  }
  return t(session.open ? "sessions.item.active_until" : "sessions.item.ending", { time: formatTime(session.ends_at) });
}

function sessionItem(session) {
  const name = `${session.course_name} (${session.course_code})`;
  const link = (kind) => h("a", {
    class: kind === "projector" ? "button button-primary button-small" : "button button-small",
    href: `/asistencia/sessions/${session.id}/${kind}`,
    "aria-label": t(`sessions.link.${kind}_label`, { name }),
  }, t(`sessions.link.${kind}`));
  const facts = [
    formatDateTime(session.created_at),
    session.block && t("sessions.item.block", { block: session.block }),
    session.room && t("sessions.item.room", { room: session.room }),
    session.semester,
  ].filter(Boolean).join(" · ");
  const { counters } = session;
  return h("li", { class: `session-item ${isActive(session) ? "session-active" : ""}`, "data-session-id": session.id },
    h("div", { class: "session-head" },
      h("h3", { tabindex: "-1" }, name),
      h("span", { class: `badge badge-session-${session.status}` }, stateText(session))),
    h("p", { class: "muted" }, facts),
    h("p", {},
      t("sessions.item.join_code"), " ", h("strong", { class: "code" }, session.join_code), " · ",
      t("sessions.item.counters", { joined: counters.joined, present: counters.present + counters.late })),
    h("p", { class: "actions" },
      isActive(session) ? link("projector") : null,
      link("dashboard"),
      link("results"),
      isActive(session)
        ? h("button", {
            type: "button", class: "button button-danger button-small",
            "aria-label": t("close.action_label", { name }),
            onclick: () => close(session),
          }, t("close.action"))
        : null));
}

async function load() {
  const { sessions } = await page.api.get("/api/sessions");
  // Active first; within each group the API's order, newest first.
  const ordered = [...sessions.filter(isActive), ...sessions.filter((session) => !isActive(session))];
  fill(list, ordered.map(sessionItem));
  $("list-empty").hidden = ordered.length > 0;
  list.setAttribute("aria-busy", "false");
}

function focusSession(id) {
  list.querySelector(`[data-session-id="${id}"] h3`)?.focus();
}

async function close(session) {
  say(listError, "");
  try {
    if ((await closeSession(page.api, session)) !== null) {
      toast(t("close.done"));
      await load();
      focusSession(session.id);
    }
  } catch (error) {
    showError(listError, error);
  }
}

async function create(event) {
  event.preventDefault();
  say(formError, "");
  const wrong = checkFields();
  if (wrong.length > 0) {
    focusField(wrong[0]);
    return;
  }
  const submit = form.querySelector("button[type=submit]");
  submit.disabled = true;
  try {
    const session = await page.api.post("/api/sessions", sessionBody());
    toast(t("sessions.new.done", { code: session.join_code }));
    await load();
    focusSession(session.id);
  } catch (error) {
    const refused = error instanceof ApiError && error.code === "VALIDATION_FAILED" && markRefusedFields(error.fields);
    showError(formError, error);
    if (refused) {
      focusField(refused);
    }
  } finally {
    submit.disabled = false;
  }
}

if (page !== null) {
  $("new-session-prefilled").hidden = !prefill();
  form.addEventListener("submit", create);
  try {
    await load();
  } catch (error) {
    showError(listError, error);
  }
}
