// The scanner's service worker, served as /asistencia/sw.js for the scope
// /asistencia/scan. The build (scripts/build_static.mjs) defines PRECACHE
// (the scanner's files under their hashed names, its decoder, the offline
// page) and VERSION (a hash of that list).
//
// - Install: this version's files into a cache of its own. No skipWaiting:
//   a new version takes over only once no page of the old one is open, so an
//   open scanner keeps reading the files it started with, and a page never
//   mixes two builds (their files have different names anyway).
// - Activate: drop the caches of older versions.
// - Fetch: precached files from the cache; a page from the network (with
//   navigation preload), or the offline page when there is none. Nothing else
//   is answered or stored here: the API, the socket, tokens and keys never
//   enter a cache.

/* global PRECACHE, VERSION */

const CACHE = `asistencia-${VERSION}`;
const OFFLINE_PAGE = "/asistencia/offline";
const PRECACHED = new Set(PRECACHE);

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(PRECACHE)));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter((name) => name.startsWith("asistencia-") && name !== CACHE)
      .map((name) => caches.delete(name)));
    await self.registration.navigationPreload?.enable();
  })());
});

async function page(event) {
  try {
    return (await event.preloadResponse) ?? (await fetch(event.request));
  } catch {
    return (await caches.match(OFFLINE_PAGE, { cacheName: CACHE })) ?? Response.error();
  }
}

async function precached(request) {
  return (await caches.match(request, { cacheName: CACHE })) ?? fetch(request);
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") {
    return;
  }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(page(event));
  } else if (PRECACHED.has(url.pathname)) {
    event.respondWith(precached(request));
  }
});
