'use strict';
// The courier app's service worker: it keeps the app's own files so the app opens without a network,
// and nothing else. API answers (/v1/…, outside this worker's scope anyway) are never seen or cached.
var SHELL = 'courier-shell-v1';
var FILES = ['./', 'kit.js', 'courier.js', 'courier.css', 'manifest.webmanifest', 'icon-192.png', 'icon-512.png', 'vendor/jsQR.js'];

self.addEventListener('install', function (ev) {
  ev.waitUntil(caches.open(SHELL).then(function (c) { return c.addAll(FILES); }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener('activate', function (ev) {
  ev.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== SHELL; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener('fetch', function (ev) {
  var req = ev.request;
  var scope = new URL(self.registration.scope);
  var url = new URL(req.url);
  var file = url.pathname.slice(scope.pathname.length) || './';
  if (req.method !== 'GET' || url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname) || FILES.indexOf(file) < 0) return;
  // The network first, so a new release shows at once; the kept copy only when offline.
  ev.respondWith(fetch(req).catch(function () { return caches.match(req, { ignoreSearch: true }); }));
});
