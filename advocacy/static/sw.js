/* advocacy's service worker, served at /sw.js so its scope is the whole site.
 * - Keeps the offline page, shown when a page cannot be loaded (no network); nothing else is cached, so every page
 *   and every share is always fresh from the server.
 * - Shows Web Push notifications ({"title", "body", "url"}) and, when one is tapped, opens its url (the one-tap
 *   share page), focusing a tab already open on it. */
const CACHE = "advocacy-offline-v1";
const OFFLINE = "/offline";
// what the offline page itself loads (the shared layout's styles and scripts), so it shows styled without a network
const KEPT = [OFFLINE, "/static/app.css", "/static/js/nav.js", "/static/js/app.js", "/static/js/push.js",
  "/static/favicon.svg", "/static/icons/app/icon-192.png"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(KEPT)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.mode === "navigate") {  // a page load: the network, else the offline page
    event.respondWith(fetch(request).catch(() => caches.match(OFFLINE)));
    return;
  }
  const url = new URL(request.url);
  if (request.method === "GET" && url.origin === self.location.origin && KEPT.includes(url.pathname)) {
    event.respondWith(fetch(request).catch(() => caches.match(url.pathname)));  // always fresh when online
  }
});

self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { body: event.data ? event.data.text() : "" }; }
  const title = data.title || "advocacy";
  event.waitUntil(self.registration.showNotification(title, {
    body: data.body || "", tag: data.tag || undefined, icon: "/static/icons/app/icon-192.png",
    badge: "/static/icons/app/icon-192.png", data: { url: data.url || "/feed" },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL((event.notification.data && event.notification.data.url) || "/feed", self.location.origin).href;
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
    for (const w of windows) { if (w.url === url && "focus" in w) return w.focus(); }
    return self.clients.openWindow(url);
  }));
});
