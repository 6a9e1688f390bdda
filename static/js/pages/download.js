// Files the API serves as attachments (CSV exports) need the bearer token,
// which a plain link cannot send: fetch them through api.js and hand the
// exact bytes to the browser as a download.

import { h } from "./dom.js";

// Long enough for the browser to start reading the blob after the click.
const REVOKE_AFTER_MS = 60_000;

function attachmentName(disposition) {
  return /filename="([^"]+)"/.exec(disposition ?? "")?.[1] ?? null;
}

/** Download `path` (an API GET) as a file; resolves with the file name the server gave. */
export async function downloadFile(api, path, fallbackName) {
  const response = await api.request("GET", path, { raw: true });
  const blob = await response.blob();
  const filename = attachmentName(response.headers.get("Content-Disposition")) ?? fallbackName;
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), REVOKE_AFTER_MS);
  return filename;
}
