// The installable scanner: its service worker (static/sw.js, served as
// /asistencia/sw.js) registered once the page has loaded, so precaching
// never competes with what the page itself is fetching.

const SERVICE_WORKER = "/asistencia/sw.js";
const SCOPE = "/asistencia/scan";

export function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) {
    return;
  }
  const register = () => {
    navigator.serviceWorker.register(SERVICE_WORKER, { scope: SCOPE }).catch((error) => globalThis.reportError(error));
  };
  if (document.readyState === "complete") {
    register();
  } else {
    window.addEventListener("load", register, { once: true });
  }
}
