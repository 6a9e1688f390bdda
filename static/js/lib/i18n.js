// UI text from the message catalog (asistencia/messages/), the same one
// templates use. The build inlines the catalog once, in the chunk every page
// shares: it is downloaded once and cached with it, never repeated in pages.

import catalog from "../../../asistencia/messages/es_CL.json" with { type: "json" };

const PLACEHOLDER = /\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * The text for `key` in `messages`, with `{name}` placeholders filled from
 * `params` as Python's str.format does (`{{` and `}}` are literal braces).
 * Like the server's Catalog, a missing key gives the key itself, and a text
 * is used as is when no params are given. A placeholder without a param
 * stays visible.
 */
export function translate(messages, key, params) {
  const template = messages[key];
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

/** The catalog's text for `key` (see `translate`). */
export function t(key, params) {
  return translate(catalog, key, params);
}
