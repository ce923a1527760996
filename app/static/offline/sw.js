// The offline page's service worker. The server puts self.CARREL_OFFLINE = {version, urls}
// above this file: the page and the scripts and styles it needs. Those are answered from the
// network when it answers (and the copy refreshed), from the cache when it does not; every
// other request goes to the network untouched (synchronised data lives in IndexedDB instead).
"use strict";

var CACHE = "carrel-offline-" + self.CARREL_OFFLINE.version;
var URLS = self.CARREL_OFFLINE.urls;
var NETWORK_WAIT_MS = 4000;  // a server that hangs counts as unreachable

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.addAll(URLS.map(function (url) { return new Request(url, { credentials: "same-origin", cache: "reload" }); }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (key) { return key.indexOf("carrel-offline-") === 0 && key !== CACHE; })
      .map(function (key) { return caches.delete(key); }));
  }).then(function () { return self.clients.claim(); }));
});

function withTimeout(promise, ms) {
  return new Promise(function (resolve, reject) {
    var timer = setTimeout(function () { reject(new Error("no answer in time")); }, ms);
    promise.then(function (value) { clearTimeout(timer); resolve(value); },
                 function (error) { clearTimeout(timer); reject(error); });
  });
}

async function networkFirst(request, key) {
  var cache = await caches.open(CACHE);
  try {
    var response = await withTimeout(fetch(request), NETWORK_WAIT_MS);
    if (response.ok && !response.redirected && response.type === "basic") {
      await cache.put(key, response.clone());
      return response;
    }
    if (response.status >= 500) {  // the server is up but broken: the kept copy is better
      var kept = await cache.match(key);
      if (kept) { return kept; }
    }
    return response;  // a redirect to the login page, a notice: online, show it
  } catch (error) {
    var copy = await cache.match(key);
    if (copy) { return copy; }
    throw error;
  }
}

self.addEventListener("fetch", function (event) {
  if (event.request.method !== "GET") { return; }
  var url = new URL(event.request.url);
  if (url.origin !== self.location.origin || URLS.indexOf(url.pathname) === -1) { return; }
  event.respondWith(networkFirst(event.request, url.pathname));
});
