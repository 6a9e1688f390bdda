// What every page shares: its token and who is logged in (header, role-aware
// navigation), the page-level error, toasts, and error messages from the catalog.

import { ApiError, pageApi } from "/static/js/lib/api.js";
import { t } from "/static/js/lib/i18n.js";
import { h, say } from "./dom.js";

const TOAST_SECONDS = 8;
// camera.js's CameraError and device_login.js's PasskeyError, known by name so
// that pages without a camera or a passkey (the professor's) never load those modules.
const EXPECTED_ERRORS = new Set(["CameraError", "PasskeyError"]);

/** The failures pages explain to people; anything else is a bug and is reported as one. */
function isExpected(error) {
  return error instanceof ApiError || (error instanceof Error && EXPECTED_ERRORS.has(error.name));
}

/**
 * What to tell the user about a failure, from the catalog: the error's own
 * code (`error.code.<CODE>`), else its HTTP status (`error.<status>`), else
 * a generic text naming the code. Any token problem reads as "log in again".
 */
export function errorText(error) {
  if (error instanceof ApiError && error.isTokenError) {
    return t("error.token");
  }
  const code = typeof error?.code === "string" ? error.code : null;
  const byCode = code && t(`error.code.${code}`);
  if (byCode && byCode !== `error.code.${code}`) {
    return byCode;
  }
  const byStatus = error?.status && t(`error.${error.status}`);
  if (byStatus && byStatus !== `error.${error.status}`) {
    return byStatus;
  }
  return t("error.unexpected", { code: code ?? error?.name ?? "?" });
}

/**
 * Show a failure in a message element of the page (hidden again by
 * `say(element, "")`). A token that cannot be renewed ends the page: the
 * user must log in again. An unexpected error (a bug, not a refusal) is
 * also reported as an uncaught error, so it reaches the console and the tests.
 */
export function showError(element, error) {
  if (error instanceof ApiError && error.isTokenError) {
    showPageError(errorText(error));
    return;
  }
  say(element, errorText(error));
  if (!isExpected(error)) {
    globalThis.reportError(error);
  }
}

/** Replace the page's content with a page-level error (expired token, wrong role, unavailable). */
export function showPageError(text) {
  document.getElementById("page-error-text").textContent = text;
  document.getElementById("page-error").hidden = false;
  document.getElementById("page-content").hidden = true;
}

/** The page cannot work without what failed (its token, its data): say why instead of the content. */
export function failPage(error) {
  showPageError(errorText(error));
  if (!isExpected(error)) {
    globalThis.reportError(error);
  }
}

/** A passing confirmation in the page's status region (role="status"). */
export function toast(text) {
  const message = h("p", { class: "toast" }, text);
  document.getElementById("toasts").append(message);
  setTimeout(() => message.remove(), TOAST_SECONDS * 1000);
}

/** Dev mode: the banner's "log in as" links keep the page and its query, changing only the identity. */
function linkDevIdentities() {
  for (const link of document.querySelectorAll("a[data-dev-as]")) {
    const url = new URL(location.href);
    url.searchParams.set("as", link.dataset.devAs);
    url.searchParams.delete("user_id");
    url.searchParams.delete("ttl");
    link.href = `${url.pathname}${url.search}`;
  }
}

function showIdentity(claims) {
  const whoami = document.getElementById("whoami");
  whoami.textContent = t("whoami", { name: claims.nombreCompleto || claims.username, role: t(`role.${claims.rol}`) });
  whoami.hidden = false;
  for (const element of document.querySelectorAll("[data-roles]")) {
    element.hidden = !element.dataset.roles.split(" ").includes(claims.rol);
  }
}

/**
 * Start a page: get its token, show who is logged in, and check the role.
 * `devRole`: the dev-mode identity when the tab chose none; `roles`: who the
 * page is for (all when omitted). Resolves with `{api, tokens, claims}`, or
 * with null after showing a page-level error (no token, wrong role).
 */
export async function startPage({ devRole, roles = null } = {}) {
  linkDevIdentities();
  document.getElementById("page-error-reload").addEventListener("click", () => location.reload());
  const { api, tokens } = pageApi({ devRole });
  try {
    await tokens.get();
  } catch (error) {
    failPage(error);
    return null;
  }
  const { claims } = tokens;
  showIdentity(claims);
  if (roles !== null && !roles.includes(claims.rol)) {
    showPageError(t("error.role", { role: t(`role.${claims.rol}`) }));
    return null;
  }
  return { api, tokens, claims };
}
