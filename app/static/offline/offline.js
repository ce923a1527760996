// The built-in offline circulation page: check out and check in against the data synchronised
// to this browser, every transaction stored in IndexedDB at once (store.js), uploaded once when
// the server is back. A service worker (sw.js) keeps the page itself available offline.
(function () {
  "use strict";

  var S = window.CarrelStore;
  var app, urls, state = { workstation: null, patron: null };
  var LABELS = { issue: "Check out", "return": "Check in", payment: "Payment" };
  var UPLOAD_CHUNK = 500;

  function $(id) { return document.getElementById(id); }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = text; }
    if (className) { node.className = className; }
    return node;
  }

  function row(cells, className) {
    var tr = el("tr", null, className);
    cells.forEach(function (cell) {
      var td = el("td");
      if (cell instanceof Node) { td.appendChild(cell); } else { td.textContent = cell === undefined ? "" : cell; }
      tr.appendChild(td);
    });
    return tr;
  }

  function say(id, text, kind) {
    var box = $(id);
    box.textContent = text;
    box.className = "flash" + (kind ? " flash-" + kind : "");
    box.hidden = !text;
  }

  function localTime(iso) {
    var d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString();
  }

  function today() {
    var d = new Date();
    return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
  }

  // --- recording -------------------------------------------------------------------------------

  async function record(fields) {
    var t = {
      id: S.uuid(), workstation: state.workstation, time: new Date().toISOString(), state: "waiting",
      action: fields.action, card: fields.card || null, barcode: fields.barcode || null,
      due: fields.due || null, amount: fields.amount || null
    };
    await S.put("transactions", t);  // stored before the page says it is done
    refreshCounts();
    return t;
  }

  async function refreshCounts() {
    var waiting = await S.count("transactions", "state", "waiting");
    var sent = await S.count("transactions", "state", "sent");
    var refused = await S.count("transactions", "state", "refused");
    $("waiting-count").textContent = waiting + " transaction(s) waiting to upload";
    $("upload-summary").textContent = waiting + " waiting to upload, " + sent + " uploaded, " + refused + " refused.";
    $("upload-transactions").disabled = waiting === 0;
    return { waiting: waiting, sent: sent, refused: refused };
  }

  // --- check out -------------------------------------------------------------------------------

  function describePatron(p) {
    return (p.firstname ? p.firstname + " " : "") + p.surname;
  }

  async function choosePatron(patron, card) {
    state.patron = patron ? patron : { card: card, surname: "Card " + card, unknown: true, blocks: [], fines: "?" };
    var p = state.patron;
    $("patron-matches").replaceChildren();
    $("patron-name").textContent = p.unknown ? "Unknown card " + card : describePatron(p);
    $("patron-card").textContent = p.card;
    $("patron-category").textContent = p.category_name || p.category || "";
    $("patron-expiry").textContent = p.expiry || "";
    $("patron-fines").textContent = p.fines;
    var loans = p.unknown ? 0 : await S.count("loans", "card", p.card);
    $("patron-loans").textContent = loans;
    var blocks = $("patron-blocks");
    blocks.replaceChildren();
    (p.unknown ? ["Not in the synchronised data: checked when the transactions are processed."] : p.blocks)
      .forEach(function (b) { blocks.appendChild(el("li", b)); });
    blocks.hidden = !blocks.children.length;
    $("patron-panel").hidden = false;
    $("checkout-barcode").focus();
  }

  async function findPatron(event) {
    event.preventDefault();
    var query = $("patron-query").value.trim();
    var list = $("patron-matches");
    list.replaceChildren();
    say("patron-message", "");
    if (!query) { return; }
    var exact = await S.get("patrons", query);
    if (exact) { return choosePatron(exact); }
    var matches = await S.searchNames(query, 50);
    if (matches.length === 1) { return choosePatron(matches[0]); }
    matches.forEach(function (p) {
      var button = el("button", describePatron(p) + " (" + p.card + ")" + (p.blocks.length ? " - blocked" : ""), "link");
      button.type = "button";
      button.addEventListener("click", function () { choosePatron(p); });
      list.appendChild(el("li")).appendChild(button);
    });
    if (!matches.length) {
      var synced = await S.get("meta", "sync-patrons");
      say("patron-message", "No patron with the card number or name \u201c" + query + "\u201d in the data synchronised " +
          (synced ? "on " + localTime(synced.at) : "(never synchronised)") +
          ". Patrons added since then are not in it.", "error");
      var use = el("button", "Use card number " + query + " anyway");
      use.type = "button";
      use.addEventListener("click", function () { choosePatron(null, query); });
      list.appendChild(el("li")).appendChild(use);
    }
  }

  async function checkOut(event) {
    event.preventDefault();
    var barcode = $("checkout-barcode").value.trim();
    var due = $("due-date").value;
    if (!state.patron) { return say("checkout-message", "Find the patron first.", "error"); }
    if (!barcode) { return say("checkout-message", "Scan or type a barcode.", "error"); }
    if (!due) { return say("checkout-message", "Choose the due date (offline there are no rules to compute it).", "error"); }
    var item = await S.get("items", barcode);
    var t;
    try {
      t = await record({ action: "issue", card: state.patron.card, barcode: barcode, due: due });
    } catch (error) {
      return say("checkout-message", "Not recorded: this browser could not store it (" + error + ").", "error");
    }
    try { localStorage.setItem("carrel-offline-due", due); } catch (e) { /* private mode */ }
    var title = item ? item.title : el("strong", "Unknown barcode: recorded anyway", "error");
    $("checkouts").tBodies[0].prepend(row([barcode, title, due, localTime(t.time)], item ? "" : "unknown"));
    say("checkout-message", "Checked out " + barcode + " to " + describePatron(state.patron) + ", due " + due + ".",
        item ? "success" : "error");
    $("checkout-barcode").value = "";
    $("checkout-barcode").focus();
  }

  // --- check in --------------------------------------------------------------------------------

  async function checkIn(event) {
    event.preventDefault();
    var barcode = $("checkin-barcode").value.trim();
    if (!barcode) { return say("checkin-message", "Scan or type a barcode.", "error"); }
    var item = await S.get("items", barcode);
    var loan = await S.get("loans", barcode);
    var t;
    try {
      t = await record({ action: "return", barcode: barcode });
    } catch (error) {
      return say("checkin-message", "Not recorded: this browser could not store it (" + error + ").", "error");
    }
    var who = "not on loan (in the synchronised data)";
    if (loan) {
      var patron = await S.get("patrons", loan.card);
      who = "on loan to " + (patron ? describePatron(patron) + " (" + loan.card + ")" : loan.card) + ", due " + loan.due;
    }
    var details = item ? [item.title, item.callnumber, item.library + (item.status.length ? " (" + item.status.join(", ") + ")" : ""), who]
                       : [el("strong", "Unknown barcode: recorded anyway", "error"), "", "", ""];
    $("checkins").tBodies[0].prepend(row([barcode].concat(details, [localTime(t.time)]), item ? "" : "unknown"));
    say("checkin-message", "Checked in " + barcode + ".", item ? "success" : "error");
    $("checkin-barcode").value = "";
    $("checkin-barcode").focus();
  }

  // --- synchronise -----------------------------------------------------------------------------

  async function getJSON(url) {
    var response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    var type = response.headers.get("Content-Type") || "";
    if (response.redirected || type.indexOf("application/json") === -1) {
      throw new Error("the server wants you to log in again: log in (another tab is fine), then try again");
    }
    var data = await response.json();
    if (!response.ok) { throw new Error(data.error || "the server answered " + response.status); }
    return data;
  }

  async function showSyncSummary() {
    for (var i = 0; i < S.KINDS.length; i++) {
      var kind = S.KINDS[i];
      var done = await S.get("meta", "sync-" + kind);
      $("synced-" + kind).textContent = done ? localTime(done.at) : "never";
      if (done) { $("progress-" + kind).max = 1; $("progress-" + kind).value = 1; }
      $("count-" + kind).textContent = done ? done.count.toLocaleString() : "";
    }
    var patrons = await S.get("meta", "sync-patrons");
    $("data-age").textContent = patrons
      ? "Patrons, items and loans as synchronised on " + localTime(patrons.at) + ": patrons added since are not here."
      : "Nothing synchronised yet: open Synchronise and download the records while online.";
  }

  async function download() {
    var button = $("sync-download");
    button.disabled = true;
    say("sync-message", "Downloading\u2026");
    try {
      var totals = (await getJSON(urls.totals)).totals;
      var gen = Date.now();
      for (var i = 0; i < S.KINDS.length; i++) {
        var kind = S.KINDS[i], after = 0, got = 0, bar = $("progress-" + kind);
        bar.max = Math.max(totals[kind], 1);
        bar.value = 0;
        while (after !== null) {
          var page = await getJSON(urls[kind] + "?after=" + after);
          page.rows.forEach(function (r) {
            r.gen = gen;
            if (kind === "patrons") { r.words = (r.surname + " " + r.firstname).toLowerCase().split(/\s+/).filter(Boolean); }
          });
          await S.putAll(kind, page.rows);
          got += page.rows.length;
          bar.value = got;
          $("count-" + kind).textContent = got.toLocaleString() + " of " + totals[kind].toLocaleString();
          after = page.after;
        }
        await S.dropOlder(kind, gen);
        await S.put("meta", { key: "sync-" + kind, at: new Date().toISOString(), count: got });
      }
      say("sync-message", "Records downloaded: this workstation is ready to work offline.", "success");
    } catch (error) {
      say("sync-message", "Download stopped: " + error.message + ". The data already here is still usable.", "error");
    } finally {
      button.disabled = false;
      showSyncSummary();
    }
  }

  // --- upload ----------------------------------------------------------------------------------

  async function markResults(results, byId) {
    var changed = [];
    results.forEach(function (r) {
      var t = byId[r.id];
      if (!t) { return; }
      t.state = r.status === "refused" ? "refused" : "sent";
      t.result = r.status === "refused" ? r.reason : (r.status === "duplicate" ? "already uploaded" : "queued");
      t.sentAt = new Date().toISOString();
      changed.push(t);
    });
    await S.putAll("transactions", changed);
    return changed.length;
  }

  async function upload() {
    var button = $("upload-transactions");
    button.disabled = true;
    say("upload-message", "Uploading\u2026");
    var sent = 0;
    try {
      var waiting = await S.allFrom("transactions", "state", "waiting");
      waiting.sort(function (a, b) { return a.time < b.time ? -1 : a.time > b.time ? 1 : 0; });
      var token = (await getJSON(urls.token)).csrf_token;  // fresh: the page's own may be days old
      for (var i = 0; i < waiting.length; i += UPLOAD_CHUNK) {
        var chunk = waiting.slice(i, i + UPLOAD_CHUNK), byId = {};
        chunk.forEach(function (t) { byId[t.id] = t; });
        var response = await fetch(urls.upload, {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": token },
          body: JSON.stringify({ transactions: chunk.map(function (t) {
            return { id: t.id, workstation: t.workstation, action: t.action, time: t.time, card: t.card,
                     barcode: t.barcode, due: t.due, amount: t.amount };
          }) })
        });
        var type = response.headers.get("Content-Type") || "";
        if (type.indexOf("application/json") === -1) { throw new Error("the server refused the upload (" + response.status + "): log in again and retry"); }
        var data = await response.json();
        if (!response.ok) { throw new Error(data.error || "the server answered " + response.status); }
        sent += await markResults(data.results, byId);
      }
      say("upload-message", sent ? sent + " transaction(s) uploaded to the pending offline actions." : "Nothing to upload.", "success");
    } catch (error) {
      say("upload-message", "Upload stopped after " + sent + " transaction(s): " + error.message +
          ". The others are kept here; upload again later.", "error");
    } finally {
      await refreshCounts();
      showTransactions();
    }
  }

  async function showTransactions() {
    var rows = await S.newest("transactions", "time", 100);
    var body = $("transactions").tBodies[0];
    body.replaceChildren();
    rows.forEach(function (t) {
      var status = t.state === "waiting" ? "waiting" : t.state + (t.result ? ": " + t.result : "");
      body.appendChild(row([localTime(t.time), LABELS[t.action], t.card || "", t.barcode || "", t.due || "", status],
                           "tx-" + t.state));
    });
  }

  // --- the page --------------------------------------------------------------------------------

  function showTab() {
    var wanted = (location.hash || "#checkout").slice(1);
    var sections = document.querySelectorAll(".offline-section");
    var known = Array.prototype.some.call(sections, function (s) { return s.id === wanted; });
    Array.prototype.forEach.call(sections, function (s) { s.hidden = s.id !== (known ? wanted : "checkout"); });
    document.querySelectorAll(".offline-tabs a").forEach(function (a) {
      if (a.hash === "#" + (known ? wanted : "checkout")) { a.setAttribute("aria-current", "page"); } else { a.removeAttribute("aria-current"); }
    });
    if (wanted === "synchronise") { showTransactions(); }
  }

  function connection() {
    var online = navigator.onLine;
    $("connection").textContent = online ? "Online" : "Offline";
    $("connection").className = "badge " + (online ? "badge-ok" : "badge-danger");
  }

  function registerWorker() {
    var ready = $("offline-ready");
    if (!("serviceWorker" in navigator)) {
      ready.textContent = "This browser cannot keep the page for offline use (it needs HTTPS).";
      return;
    }
    function mark() {
      if (navigator.serviceWorker.controller) { ready.textContent = "Ready to work offline"; ready.className = "badge badge-ok"; }
    }
    navigator.serviceWorker.addEventListener("controllerchange", mark);
    navigator.serviceWorker.register(urls.sw, { scope: urls.scope })
      .then(function () { return navigator.serviceWorker.ready; }).then(mark)
      .catch(function (error) { ready.textContent = "Not available offline: " + error.message; });
    mark();
  }

  async function start() {
    app = $("offline-app");
    if (!app) { return; }
    urls = {
      sw: app.dataset.sw, scope: app.dataset.scope, token: app.dataset.token, upload: app.dataset.upload,
      totals: app.dataset.syncTotals, patrons: app.dataset.syncPatrons, items: app.dataset.syncItems,
      loans: app.dataset.syncLoans
    };
    registerWorker();
    connection();
    window.addEventListener("online", connection);
    window.addEventListener("offline", connection);
    window.addEventListener("hashchange", showTab);
    $("patron-form").addEventListener("submit", findPatron);
    $("checkout-form").addEventListener("submit", checkOut);
    $("checkin-form").addEventListener("submit", checkIn);
    $("sync-download").addEventListener("click", download);
    $("upload-transactions").addEventListener("click", upload);
    var due = $("due-date");
    due.min = today();
    try { if (localStorage.getItem("carrel-offline-due") >= today()) { due.value = localStorage.getItem("carrel-offline-due"); } } catch (e) { /* private mode */ }
    if (navigator.storage && navigator.storage.persist) { navigator.storage.persist(); }
    try {
      state.workstation = await S.workstation();
      $("workstation-id").textContent = state.workstation;
      await Promise.all([refreshCounts(), showSyncSummary()]);
      showTab();
      app.dataset.ready = "true";
    } catch (error) {
      say("storage-message", "This browser cannot store offline data here: " + error + ".", "error");
    }
  }

  window.CarrelOffline = { record: record, counts: refreshCounts };  // for benchmarks and scripted checks
  document.addEventListener("DOMContentLoaded", start);
}());
