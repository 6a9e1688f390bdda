// The professor's sessions page (/asistencia/sessions): their class
// sessions, active ones first, then drafts, with the way to project (in a tab
// of its own, so this page stays), watch, see results, close or cancel each,
// and to open a draft when class starts; and the form that opens a new one or
// saves it as a draft (prefilled when the legacy app launches it with
// ?course_code=&course_name=&semester=&block=&room=). The form sends a
// request id that changes only when the form does, and empties itself once
// the session is made: a second click never makes a duplicate. Opening a
// draft is idempotent on the server and its button is disabled while it
// runs: a double click opens it once. An admin sees everyone's sessions,
// with their professor, and filters them.

import { ApiError } from "/static/js/lib/api.js";
import { t } from "/static/js/lib/i18n.js";
import { showError, startPage, toast } from "./chrome.js";
import { cancelSession } from "./cancel_session.js";
import { closeSession } from "./close_session.js";
import { fill, h, say } from "./dom.js";
import { formatDateTime, formatTime } from "./format.js";
import { checkFields, fillFrom, focusField, markRefusedFields, prefill, sessionBody } from "./session_form.js";

const $ = (id) => document.getElementById(id);
const form = $("new-session");
const formError = $("new-session-error");
const list = $("session-list");
const listError = $("list-error");
const filters = $("session-filters");

const page = await startPage({ devRole: "profesor", roles: ["profesor", "admin"] });
const isAdmin = page?.claims.rol === "admin";
// One per filled form: a repeated submit of the same form gets the session it already opened.
let requestId = crypto.randomUUID();
let requestSent = false;
// The draft the form edits, or null: the form makes a new session.
let editing = null;

function isActive(session) {
  return session.status === "active";
}

function isDraft(session) {
  return session.status === "draft";
}

function stateText(session) {
  if (!isActive(session)) {
    return t(`session.status.${session.status}`);
  }
  return t(session.open ? "sessions.item.active_until" : "sessions.item.ending", { time: formatTime(session.ends_at) });
}

function sessionItem(session) {
  const name = `${session.course_name} (${session.course_code})`;
  // The projector opens in a tab of its own: this page stays where it is.
  const link = (kind) => h("a", {
    class: kind === "projector" ? "button button-primary button-small" : "button button-small",
    href: `/asistencia/sessions/${session.id}/${kind}`,
    "aria-label": t(`sessions.link.${kind}_label`, { name }),
    ...(kind === "projector" ? { target: "_blank", rel: "noopener" } : {}),
  }, t(`sessions.link.${kind}`));
  // A button whose message `key` is its text and `key`_label its accessible name (naming the session).
  const action = (kind, key, onclick) => h("button", {
    type: "button", class: ["button", kind, "button-small"].filter(Boolean).join(" "),
    "aria-label": t(`${key}_label`, { name }), onclick,
  }, t(key));
  const facts = [
    isAdmin && t("sessions.item.professor", { name: session.professor.full_name || session.professor.username }),
    isDraft(session)
      ? t("sessions.item.draft", { date: formatDateTime(session.created_at) })
      : formatDateTime(session.opened_at ?? session.created_at),
    session.block && t("sessions.item.block", { block: session.block }),
    session.room && t("sessions.item.room", { room: session.room }),
    session.semester,
  ].filter(Boolean).join(" · ");
  const { counters } = session;
  const cancelled = session.status === "cancelled";
  return h("li", { class: `session-item session-${session.status}`, "data-session-id": session.id },
    h("div", { class: "session-head" },
      h("h3", { tabindex: "-1" }, name),
      h("span", { class: `badge badge-session-${session.status}` }, stateText(session))),
    h("p", { class: "muted" }, facts),
    cancelled ? h("p", { class: "cancel-reason" }, t("cancel.reason_shown", { reason: session.cancel_reason })) : null,
    h("p", {},
      t("sessions.item.join_code"), " ", h("strong", { class: "code" }, session.join_code), " · ",
      t("sessions.item.counters", { joined: counters.joined, present: counters.present + counters.late })),
    h("p", { class: "actions" },
      isDraft(session)
        ? action("button-primary", "sessions.item.open", (event) => openDraft(session, event.currentTarget))
        : null,
      isDraft(session) ? action(null, "sessions.item.edit", () => startEditing(session)) : null,
      isActive(session) ? link("projector") : null,
      isDraft(session) ? null : link("dashboard"),
      isDraft(session) ? null : link("results"),
      isActive(session) ? action("button-danger", "close.action", () => close(session)) : null,
      cancelled ? null : action("button-quiet", "cancel.action", () => cancel(session))));
}

function listQuery() {
  if (!isAdmin) {
    return "";
  }
  const query = new URLSearchParams();
  for (const [name, value] of new FormData(filters)) {
    if (value.trim()) {
      query.set(name, value.trim());
    }
  }
  const text = query.toString();
  return text ? `?${text}` : "";
}

async function load() {
  const query = listQuery();
  const { sessions } = await page.api.get(`/api/sessions${query}`);
  // Active first, then drafts; within each group the API's order, newest first.
  const ordered = [...sessions.filter(isActive), ...sessions.filter(isDraft),
    ...sessions.filter((session) => !isActive(session) && !isDraft(session))];
  fill(list, ordered.map(sessionItem));
  const empty = query ? "sessions.list.empty_filtered" : isAdmin ? "sessions.list.empty_admin" : "sessions.list.empty";
  say($("list-empty"), ordered.length ? "" : t(empty));
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

async function openDraft(session, button) {
  say(listError, "");
  // A second click while the first runs does nothing; the server opens a draft once anyway.
  if (button.disabled) {
    return;
  }
  button.disabled = true;
  try {
    const opened = await page.api.post(`/api/sessions/${session.id}/open`, {});
    toast(t("sessions.item.opened", { code: opened.join_code }));
    await load();
    focusSession(session.id);
  } catch (error) {
    button.disabled = false;
    showError(listError, error);
  }
}

function startEditing(draft) {
  editing = draft;
  form.reset();
  fillFrom(draft);
  $("new-session-title").textContent = t("sessions.edit.title", { name: `${draft.course_name} (${draft.course_code})` });
  $("new-session-prefilled").hidden = true;
  $("edit-discard").hidden = false;
  focusField("course_code");
}

function stopEditing() {
  editing = null;
  form.reset();
  $("new-session-title").textContent = t("sessions.new.title");
  $("edit-discard").hidden = true;
}

/** Save the edited draft; opened too when `open`. */
async function saveDraft(draft, open) {
  const saved = await page.api.patch(`/api/sessions/${draft.id}`, sessionBody());
  return open ? page.api.post(`/api/sessions/${draft.id}/open`, {}) : saved;
}

async function cancel(session) {
  say(listError, "");
  const cancelled = await cancelSession(page.api, session);
  if (cancelled !== null) {
    toast(t("cancel.done"));
    try {
      await load();
      focusSession(session.id);
    } catch (error) {
      showError(listError, error);
    }
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
  const open = event.submitter?.value !== "false";
  const submits = [...form.querySelectorAll("button[type=submit]")];
  for (const submit of submits) {
    submit.disabled = true;
  }
  try {
    const edited = editing !== null;
    let session;
    if (edited) {
      session = await saveDraft(editing, open);
    } else {
      requestSent = true;
      session = await page.api.post("/api/sessions", { ...sessionBody(), open, request_id: requestId });
    }
    stopEditing();
    $("new-session-prefilled").hidden = true;
    if (session.status !== "draft") {
      toast(t("sessions.new.done", { code: session.join_code }));
    } else {
      toast(t(edited ? "sessions.edit.saved" : "sessions.new.draft_done"));
    }
    await load();
    focusSession(session.id);
  } catch (error) {
    const refused = error instanceof ApiError && error.code === "VALIDATION_FAILED" && markRefusedFields(error.fields);
    showError(formError, error);
    if (refused) {
      focusField(refused);
    }
  } finally {
    for (const submit of submits) {
      submit.disabled = false;
    }
  }
}

function showAdminView() {
  for (const element of document.querySelectorAll("[data-admin-text]")) {
    element.textContent = element.dataset.adminText;
  }
  document.title = `${t("sessions.title_admin")} · ${t("app.name")}`;
  filters.hidden = false;
  const reload = async () => {
    say(listError, "");
    try {
      await load();
    } catch (error) {
      showError(listError, error);
    }
  };
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    reload();
  });
  // After the reset has emptied the fields.
  filters.addEventListener("reset", () => setTimeout(reload));
}

if (page !== null) {
  $("new-session-prefilled").hidden = !prefill();
  form.addEventListener("submit", create);
  $("edit-discard").addEventListener("click", stopEditing);
  form.addEventListener("input", () => {
    if (requestSent) {
      requestId = crypto.randomUUID();
      requestSent = false;
    }
  });
  if (isAdmin) {
    showAdminView();
  }
  try {
    await load();
  } catch (error) {
    showError(listError, error);
  }
}
