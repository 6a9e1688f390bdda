// The sessions page's form for a new class session (or a draft being
// edited): prefilled from the legacy app's launch link or the draft, checked
// here the way the API checks it, and turned into the body of POST
// /api/sessions (or PATCH /api/sessions/{id}).

import { t } from "/static/js/lib/i18n.js";
import { say } from "./dom.js";

// What the legacy app passes when it launches a session: ?course_code=&course_name=&semester=&block=&room=
const PREFILLED = ["course_code", "course_name", "semester", "block", "room"];
const TEXTS = ["course_code", "course_name", "room", "semester", "block"];
const NUMBERS = ["rounds", "duration_minutes", "late_after_minutes"];
const FIELDS = [...TEXTS, ...NUMBERS, "allowed_networks"];

const input = (name) => document.getElementById(`field-${name}`);

/** Fill the form from the page's query; says whether anything came from it. */
export function prefill(search = location.search) {
  const query = new URLSearchParams(search);
  let filled = false;
  for (const name of PREFILLED) {
    const value = query.get(name)?.trim();
    if (value) {
      input(name).value = value.slice(0, input(name).maxLength);
      filled = true;
    }
  }
  return filled;
}

/** Fill the form with a session's values (a draft being edited). */
export function fillFrom(session) {
  for (const name of [...TEXTS, ...NUMBERS]) {
    input(name).value = session[name] ?? "";
  }
  input("allowed_networks").value = session.allowed_networks.join("\n");
  input("projection_mode").value = session.projection_mode;
}

/** Show a field's problem (or clear it with null), tied to the field for screen readers. */
export function markField(name, problem) {
  say(document.getElementById(`error-${name}`), problem ? t(`sessions.error.${name}`) : "");
  input(name).setAttribute("aria-invalid", problem ? "true" : "false");
}

function networks() {
  return input("allowed_networks").value.split(/[\s,;]+/).filter(Boolean);
}

/** The fields that would be refused, checked as the API does; each is marked. */
export function checkFields() {
  const wrong = [];
  for (const name of FIELDS) {
    const field = input(name);
    let problem = false;
    if (NUMBERS.includes(name)) {
      const value = field.value.trim();
      const number = Number(value);
      problem = value ? !Number.isInteger(number) || number < Number(field.min) || number > Number(field.max)
        : field.required;
    } else if (name === "allowed_networks") {
      problem = networks().length > Number(field.dataset.max);
    } else {
      problem = field.required && !field.value.trim();
    }
    markField(name, problem);
    if (problem) {
      wrong.push(name);
    }
  }
  return wrong;
}

/** The POST /api/sessions body (an empty late threshold: nobody is late). */
export function sessionBody() {
  const body = {};
  for (const name of TEXTS) {
    body[name] = input(name).value.trim();
  }
  for (const name of NUMBERS) {
    const value = input(name).value.trim();
    body[name] = value ? Number(value) : null;
  }
  body.allowed_networks = networks();
  body.projection_mode = input("projection_mode").value;
  return body;
}

/** Mark the fields the API refused (VALIDATION_FAILED's `fields`); returns the first. */
export function markRefusedFields(fields) {
  const refused = FIELDS.filter((name) => fields && name in fields);
  for (const name of refused) {
    markField(name, true);
  }
  return refused[0] ?? null;
}

export function focusField(name) {
  input(name).focus();
}
