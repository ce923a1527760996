// The offline page's storage: one IndexedDB database per browser profile, kept through reloads,
// crashes and browser restarts (not localStorage: a few MB and easily lost). Stores:
//   meta          workstation id, when each kind was last synchronised
//   patrons       by card number; "words" (lower-case name words) for partial-name search
//   items, loans  by barcode; loans also by card number
//   transactions  by id; every checkout, check-in and payment recorded offline, with its state
//                 (waiting, sent, refused) so each is uploaded once
// Synchronised rows carry the download they came from ("gen"): a new download replaces the old
// one only once it has finished, so a download cut off half-way leaves the previous data usable.
(function () {
  "use strict";

  var NAME = "carrel-offline";
  var VERSION = 1;
  var KINDS = ["patrons", "items", "loans"];
  var dbPromise = null;

  function request(r) {
    return new Promise(function (resolve, reject) {
      r.onsuccess = function () { resolve(r.result); };
      r.onerror = function () { reject(r.error); };
    });
  }

  function finished(tx) {
    return new Promise(function (resolve, reject) {
      tx.oncomplete = function () { resolve(); };
      tx.onerror = function () { reject(tx.error); };
      tx.onabort = function () { reject(tx.error || new Error("storage transaction aborted")); };
    });
  }

  function upgrade(db) {
    db.createObjectStore("meta", { keyPath: "key" });
    var patrons = db.createObjectStore("patrons", { keyPath: "card" });
    patrons.createIndex("words", "words", { multiEntry: true });
    patrons.createIndex("gen", "gen");
    db.createObjectStore("items", { keyPath: "barcode" }).createIndex("gen", "gen");
    var loans = db.createObjectStore("loans", { keyPath: "barcode" });
    loans.createIndex("card", "card");
    loans.createIndex("gen", "gen");
    var transactions = db.createObjectStore("transactions", { keyPath: "id" });
    transactions.createIndex("state", "state");
    transactions.createIndex("time", "time");
  }

  function open() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var r = indexedDB.open(NAME, VERSION);
        r.onupgradeneeded = function () { upgrade(r.result); };
        r.onsuccess = function () { resolve(r.result); };
        r.onerror = function () { reject(r.error); };
        r.onblocked = function () { reject(new Error("close the other tabs of this page and reload")); };
      });
    }
    return dbPromise;
  }

  async function get(store, key) {
    var db = await open();
    return request(db.transaction(store).objectStore(store).get(key));
  }

  // A recorded transaction is flushed to disk before the page says it is done ("strict"):
  // a crash or power cut right after a scan must not lose it.
  async function put(store, value) {
    var db = await open();
    var tx = db.transaction(store, "readwrite", { durability: store === "transactions" ? "strict" : "default" });
    tx.objectStore(store).put(value);
    return finished(tx);
  }

  async function putAll(store, values) {
    var db = await open();
    var tx = db.transaction(store, "readwrite");
    var target = tx.objectStore(store);
    values.forEach(function (v) { target.put(v); });
    return finished(tx);
  }

  // Rows of an earlier download, once the new one is complete.
  async function dropOlder(store, gen) {
    var db = await open();
    var tx = db.transaction(store, "readwrite");
    var r = tx.objectStore(store).index("gen").openCursor(IDBKeyRange.upperBound(gen, true));
    r.onsuccess = function () {
      var cursor = r.result;
      if (cursor) { cursor.delete(); cursor.continue(); }
    };
    return finished(tx);
  }

  async function count(store, index, key) {
    var db = await open();
    var source = db.transaction(store).objectStore(store);
    if (index) { source = source.index(index); }
    return request(key === undefined ? source.count() : source.count(key));
  }

  async function allFrom(store, index, key, limit) {
    var db = await open();
    var source = db.transaction(store).objectStore(store).index(index);
    return request(source.getAll(key, limit));
  }

  // The newest ``limit`` entries of a store's index, newest first.
  async function newest(store, index, limit) {
    var db = await open();
    var r = db.transaction(store).objectStore(store).index(index).openCursor(null, "prev");
    var rows = [];
    return new Promise(function (resolve, reject) {
      r.onsuccess = function () {
        var cursor = r.result;
        if (cursor && rows.length < limit) { rows.push(cursor.value); cursor.continue(); } else { resolve(rows); }
      };
      r.onerror = function () { reject(r.error); };
    });
  }

  // Patrons whose name words start with every word typed (a list for a partial name).
  async function searchNames(text, limit) {
    var words = text.toLowerCase().split(/\s+/).filter(Boolean);
    if (!words.length) { return []; }
    var db = await open();
    var index = db.transaction("patrons").objectStore("patrons").index("words");
    var first = words[0];
    var r = index.openCursor(IDBKeyRange.bound(first, first + "\uffff"));
    var found = {};
    var rows = [];
    return new Promise(function (resolve, reject) {
      r.onsuccess = function () {
        var cursor = r.result;
        if (!cursor || rows.length >= limit) { resolve(rows); return; }
        var p = cursor.value;
        var every = words.every(function (w) { return p.words.some(function (pw) { return pw.indexOf(w) === 0; }); });
        if (every && !found[p.card]) { found[p.card] = true; rows.push(p); }
        cursor.continue();
      };
      r.onerror = function () { reject(r.error); };
    });
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join("-");
  }

  // This browser's workstation id, made once and kept (IndexedDB, with a copy in localStorage).
  async function workstation() {
    var row = await get("meta", "workstation");
    if (row) { return row.value; }
    var id = null;
    try { id = localStorage.getItem("carrel-offline-workstation"); } catch (e) { id = null; }
    id = id || "browser-" + uuid().slice(0, 13);
    await put("meta", { key: "workstation", value: id });
    try { localStorage.setItem("carrel-offline-workstation", id); } catch (e) { /* private mode */ }
    return id;
  }

  window.CarrelStore = {
    KINDS: KINDS, open: open, get: get, put: put, putAll: putAll, dropOlder: dropOlder, count: count,
    allFrom: allFrom, newest: newest, searchNames: searchNames, uuid: uuid, workstation: workstation
  };
}());
