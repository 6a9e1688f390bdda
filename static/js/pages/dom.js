// Page elements from data. Text always goes in as text (never parsed as
// HTML), and nothing sets a style attribute: the page CSP forbids inline styles.

const present = (child) => child !== null && child !== undefined && child !== false;

function build(element, attributes, children) {
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (!present(value)) {
      continue;
    }
    if (name.startsWith("on")) {
      element.addEventListener(name.slice(2), value);
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  element.append(...children.flat(Infinity).filter(present));
  return element;
}

/** `h("td", {class: "num"}, "3", otherElement)`: an HTML element; `on<event>` attributes become listeners. */
export function h(tag, attributes, ...children) {
  return build(document.createElement(tag), attributes, children);
}

/** The same for SVG elements (the course summary's chart). */
export function svg(tag, attributes, ...children) {
  return build(document.createElementNS("http://www.w3.org/2000/svg", tag), attributes, children);
}

/** Replace an element's children. */
export function fill(element, ...children) {
  element.replaceChildren(...children.flat(Infinity).filter(present));
}

/** Show `text` in a message element (role="alert" or "status"), or hide it when `text` is empty. */
export function say(element, text) {
  element.textContent = text ?? "";
  element.hidden = !text;
}

/**
 * Ask with a modal confirmation `dialog` (a `<form method="dialog">` whose
 * buttons have `value="confirm"` / `value="cancel"`): resolves true only
 * when confirmed (cancel, Escape: false).
 */
export function confirmed(dialog) {
  return new Promise((resolve) => {
    dialog.returnValue = "";
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
    dialog.showModal();
  });
}
