// UI text from the page's message catalog (asistencia/messages/, injected as
// <script type="application/json" id="messages">), the same one templates use.

let catalog = null;

function messages() {
  if (catalog === null) {
    const element = document.getElementById("messages");
    catalog = element ? JSON.parse(element.textContent) : {};
  }
  return catalog;
}

const PLACEHOLDER = /\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * The text for `key`, with `{name}` placeholders filled from `params` as
 * Python's str.format does (`{{` and `}}` are literal braces). Like the
 * server's Catalog, a missing key gives the key itself, and a text is used
 * as is when no params are given. A placeholder without a param stays visible.
 */
export function t(key, params) {
  const template = messages()[key];
  if (template === undefined) {
    return key;
  }
  if (!params || Object.keys(params).length === 0) {
    return template;
  }
  return template.replace(PLACEHOLDER, (match, name) => {
    if (name === undefined) {
      return match[0];
    }
    return Object.hasOwn(params, name) ? String(params[name]) : match;
  });
}
