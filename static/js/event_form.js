/* The event form, made better (it works without this file: events/views_capture.py).
 *
 * - Repeatable rows (people, products, vehicles) added and removed in the page.
 * - Catalogue search (events:product_search) filling a product row; a running total.
 * - Drafts: every change is kept on this device at once (localStorage) and sent to the server a
 *   moment later (the draft endpoint); a reload, a closed tab or a lost connection loses nothing,
 *   and unsent drafts are sent when the connection comes back.
 * - Submit: sent in the background; with no connection the whole submission (photos included,
 *   in IndexedDB) waits on this device and is sent when the connection returns. The draft key is
 *   the event's idempotency key, so a retry never records a second event.
 * - A refusal of a sensitive phrase is shown at the field while typing (the draft save returns it).
 */
(function () {
  "use strict";

  var LS_DRAFT = "auror:draft:";
  var LS_INDEX = "auror:drafts";
  var LS_OUTBOX = "auror:outbox:";
  var DB_NAME = "auror-outbox";
  var DB_STORE = "outbox";
  var SECTIONS = ["persons", "products", "vehicles"];
  var NOUN = { persons: "person", products: "product", vehicles: "vehicle" };
  var FOCUS = { persons: "name", products: "sku", vehicles: "plate" };
  var FORM = null;

  // --- small helpers -----------------------------------------------------------------------------

  function debounce(fn, ms) {
    var t = null;
    var wrapped = function () {
      var args = arguments;
      clearTimeout(t);
      t = setTimeout(function () { t = null; fn.apply(null, args); }, ms);
    };
    wrapped.flush = function () { if (t) { clearTimeout(t); t = null; fn(); } };
    return wrapped;
  }

  function lsGet(k) { try { return JSON.parse(localStorage.getItem(k)); } catch (e) { return null; } }
  function lsSet(k, v) { try { localStorage.setItem(k, JSON.stringify(v)); return true; } catch (e) { return false; } }
  function lsDel(k) { try { localStorage.removeItem(k); } catch (e) { /* private mode */ } }

  function localIndex() { return lsGet(LS_INDEX) || []; }
  function putLocal(entry) {
    lsSet(LS_DRAFT + entry.key, entry);
    var idx = localIndex();
    if (idx.indexOf(entry.key) < 0) { idx.push(entry.key); lsSet(LS_INDEX, idx); }
  }
  function getLocal(key) { return lsGet(LS_DRAFT + key); }
  function dropLocal(key) {
    lsDel(LS_DRAFT + key);
    lsSet(LS_INDEX, localIndex().filter(function (k) { return k !== key; }));
  }
  function localDrafts() { return localIndex().map(getLocal).filter(Boolean); }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input && input.value) { return input.value; }
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function money(n) {
    return n.toLocaleString("en-NZ", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  // The page's own zone (auror.timezones: the viewer's organisation's), named, as the server
  // prints times: a draft saved at 17:42 NZDT says 17:42 NZDT here and in "My drafts".
  var ZONE = (document.body && document.body.dataset.timezone) || undefined;

  function clock(d) {
    return d.toLocaleTimeString("en-NZ", { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: ZONE,
                                           timeZoneName: "short" });
  }

  function stamp(d) {
    return d.toLocaleString("en-NZ", { day: "numeric", month: "short", year: "numeric", hour: "2-digit",
                                       minute: "2-digit", hour12: false, timeZone: ZONE, timeZoneName: "short" });
  }

  function announce(text) {
    var region = document.getElementById("form-announce");
    if (!region) {
      region = document.createElement("p");
      region.id = "form-announce";
      region.className = "visually-hidden";
      region.setAttribute("role", "status");
      region.setAttribute("aria-live", "polite");
      document.body.appendChild(region);
    }
    region.textContent = "";
    setTimeout(function () { region.textContent = text; }, 50);
  }

  function outboxMessage(html, kind) {
    var box = document.getElementById("outbox-status");
    if (!box) {
      box = document.createElement("div");
      box.id = "outbox-status";
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "polite");
      var main = document.querySelector("main");
      main.insertBefore(box, main.firstChild);
    }
    box.className = "outbox " + (kind || "");
    box.innerHTML = html;
    box.hidden = false;
  }

  // --- the outbox: submissions waiting for a connection (IndexedDB keeps photos too) -------------

  function idb() {
    return new Promise(function (resolve, reject) {
      if (!window.indexedDB) { reject(new Error("IndexedDB unavailable")); return; }
      var req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(DB_STORE, { keyPath: "key" }); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function idbRun(mode, work) {
    return idb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(DB_STORE, mode);
        var req = work(tx.objectStore(DB_STORE));
        tx.oncomplete = function () { db.close(); resolve(req ? req.result : undefined); };
        tx.onerror = function () { db.close(); reject(tx.error); };
        tx.onabort = function () { db.close(); reject(tx.error); };
      });
    });
  }

  function outboxPut(item) {
    return idbRun("readwrite", function (s) { return s.put(item); }).catch(function () {
      // No IndexedDB (some private modes): keep the text, say the photos were not kept.
      item.entries = item.entries.filter(function (e) { return typeof e[1] === "string"; });
      item.photosDropped = true;
      if (!lsSet(LS_OUTBOX + item.key, item)) { throw new Error("This device cannot store the event."); }
      return item;
    });
  }

  function outboxAll() {
    var fromLs = Object.keys(localStorage).filter(function (k) { return k.indexOf(LS_OUTBOX) === 0; })
      .map(function (k) { return lsGet(k); }).filter(Boolean);
    return idbRun("readonly", function (s) { return s.getAll(); })
      .then(function (items) { return (items || []).concat(fromLs); })
      .catch(function () { return fromLs; });
  }

  function outboxDelete(key) {
    lsDel(LS_OUTBOX + key);
    return idbRun("readwrite", function (s) { return s.delete(key); }).catch(function () { return null; });
  }

  var flushing = false;
  function flushOutbox() {
    if (flushing || !navigator.onLine) { return Promise.resolve(); }
    flushing = true;
    return outboxAll().then(function (items) {
      return items.reduce(function (chain, item) {
        return chain.then(function () { return sendQueued(item); });
      }, Promise.resolve());
    }).finally(function () { flushing = false; });
  }

  function sendQueued(item) {
    var fd = new FormData();
    item.entries.forEach(function (e) { fd.append(e[0], e[1]); });
    var token = csrfToken();
    if (token) { fd.set("csrfmiddlewaretoken", token); }
    return fetch(item.url, { method: "POST", body: fd, credentials: "same-origin",
                             headers: { "X-Requested-With": "fetch" } })
      .then(function (r) {
        var json = (r.headers.get("Content-Type") || "").indexOf("application/json") === 0;
        if (r.ok && json) {
          return r.json().then(function (body) {
            return outboxDelete(item.key).then(function () {
              if (item.draftKey) { dropLocal(item.draftKey); }
              var onForm = FORM && FORM.dataset.draftKey && FORM.dataset.draftKey === item.draftKey;
              if (onForm) { window.location.assign(body.redirect); return; }
              outboxMessage("The event saved on this device while offline" + (item.title ? " (" + esc(item.title) + ")" : "") +
                " has been recorded. <a href=\"" + esc(body.redirect) + "\">Open it</a>.", "ok");
            });
          });
        }
        if (r.status === 400) {
          return outboxDelete(item.key).then(function () {
            outboxMessage("An event saved on this device needs a correction before it can be recorded: " +
              "<a href=\"" + esc(item.resumeUrl || item.url) + "\">open it</a>.", "problem");
          });
        }
        if (r.ok || r.status === 403) {
          outboxMessage("An event is waiting on this device. Sign in again to send it; it is kept until then.", "problem");
        }
        return null; // a server error: keep it, try again later
      })
      .catch(function () { return null; }); // still offline
  }

  // Drafts typed offline reach the server when the connection returns.
  function flushDrafts() {
    if (!navigator.onLine) { return; }
    localDrafts().forEach(function (entry) {
      if (entry.synced || !entry.draftUrl) { return; }
      if (FORM && FORM.dataset.draftKey === entry.key) { return; } // the open form sends its own
      sendDraft(entry);
    });
  }

  function sendDraft(entry) {
    return fetch(entry.draftUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ data: entry.data })
    }).then(function (r) {
      if (r.status === 409) {
        dropLocal(entry.key);
        return r.json().then(function (body) { return { submitted: true, url: body.event_url }; });
      }
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json().then(function (body) {
        var current = getLocal(entry.key);
        if (current && current.savedAt === entry.savedAt) { current.synced = true; putLocal(current); }
        return body;
      });
    });
  }

  // --- the form ----------------------------------------------------------------------------------

  // Not form.action: the form's buttons are named "action", which shadows that property.
  function formUrl(form) { return form.getAttribute("action") || window.location.href; }

  function field(form, name) { return form.querySelector("[name=\"" + name + "\"]"); }
  function val(form, name) { var el = field(form, name); return el ? el.value : ""; }
  function rowsOf(form, section) {
    return Array.prototype.slice.call(form.querySelectorAll(".rows[data-section=\"" + section + "\"] > .row"));
  }

  function formState(form) {
    var data = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled || el.name === "csrfmiddlewaretoken" || el.name === "draft_key") { return; }
      if (el.type === "file" || el.type === "submit" || el.type === "button" || el.type === "search") { return; }
      if (el.type === "checkbox") { data[el.name] = el.checked ? el.value : ""; }
      else if (el.type === "radio") {
        if (el.checked) { data[el.name] = el.value; } else if (!(el.name in data)) { data[el.name] = ""; }
      } else { data[el.name] = el.value; }
    });
    return data;
  }

  function nextRef(form) {
    var used = {};
    rowsOf(form, "persons").forEach(function (row) { used[row.dataset.ref] = true; });
    var n = 1;
    while (used["p" + n]) { n += 1; }
    return "p" + n;
  }

  function nextIndex(form, section) {
    var max = -1;
    rowsOf(form, section).forEach(function (row) { max = Math.max(max, parseInt(row.dataset.index, 10)); });
    return max + 1;
  }

  function renumber(form, section) {
    var noun = NOUN[section];
    var title = noun.charAt(0).toUpperCase() + noun.slice(1);
    rowsOf(form, section).forEach(function (row, n) {
      var legend = row.querySelector("legend");
      if (legend) { legend.textContent = title + " " + (n + 1); }
      var remove = row.querySelector("button[name=remove]");
      if (remove) { remove.textContent = "Remove " + noun + " " + (n + 1); }
    });
    if (section === "vehicles") {
      var add = form.querySelector("button[data-add=vehicles]");
      if (add) { add.textContent = rowsOf(form, "vehicles").length ? "Add another vehicle" : "Add a vehicle"; }
    }
  }

  function addRow(form, section, index, ref) {
    var tpl = document.getElementById("tpl-" + section);
    var container = form.querySelector(".rows[data-section=\"" + section + "\"]");
    if (!tpl || !container) { return null; }
    if (index === undefined || index === null) { index = nextIndex(form, section); }
    if (section === "persons" && !ref) { ref = nextRef(form); }
    var html = tpl.innerHTML.split("__i__").join(String(index)).split("__n__").join(String(rowsOf(form, section).length + 1))
      .split("__ref__").join(ref || "");
    var holder = document.createElement("div");
    holder.innerHTML = html.trim();
    var row = holder.firstElementChild;
    container.appendChild(row);
    renumber(form, section);
    if (section !== "products") { refreshPersonOptions(form); }
    return row;
  }

  function ensureAlias(form, personIndex, aliasIndex) {
    var list = form.querySelector("#row-persons-" + personIndex + " .alias-list");
    if (!list) { return; }
    while (!field(form, "persons." + personIndex + ".aliases." + aliasIndex)) {
      var fields = list.querySelectorAll(".field");
      var last = fields[fields.length - 1];
      var j = fields.length;
      var copy = last.cloneNode(true);
      var input = copy.querySelector("input");
      var label = copy.querySelector("label");
      input.name = "persons." + personIndex + ".aliases." + j;
      input.id = "f-persons-" + personIndex + "-aliases-" + j;
      input.value = "";
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
      input.removeAttribute("autofocus");
      Array.prototype.forEach.call(copy.querySelectorAll(".error"), function (e) { e.remove(); });
      copy.classList.remove("invalid");
      label.setAttribute("for", input.id);
      label.textContent = "Alias " + (j + 1);
      list.appendChild(copy);
      if (j > 20) { break; }
    }
  }

  function growAliases(form, input) {
    var m = input.name.match(/^persons\.(\d+)\.aliases\.(\d+)$/);
    if (!m || !input.value.trim()) { return; }
    var next = parseInt(m[2], 10) + 1;
    if (next < 20 && !field(form, "persons." + m[1] + ".aliases." + next)) { ensureAlias(form, m[1], next); }
  }

  function refreshPersonOptions(form, wanted) {
    var people = rowsOf(form, "persons").map(function (row, n) {
      var i = row.dataset.index;
      var name = val(form, "persons." + i + ".name").trim();
      return [row.dataset.ref, "Person " + (n + 1) + (name ? ": " + name : "")];
    });
    Array.prototype.forEach.call(form.querySelectorAll("select[name$='.person_ref']"), function (select) {
      var current = (wanted && wanted[select.name] !== undefined) ? wanted[select.name] : select.value;
      Array.prototype.slice.call(select.options).forEach(function (o) { if (o.value) { o.remove(); } });
      people.forEach(function (p) { select.add(new Option(p[1], p[0])); });
      select.value = people.some(function (p) { return p[0] === current; }) ? current : "";
    });
  }

  function recomputeTotal(form) {
    var total = 0;
    rowsOf(form, "products").forEach(function (row) {
      var i = row.dataset.index;
      var qty = parseInt(val(form, "products." + i + ".quantity") || "1", 10);
      var raw = (val(form, "products." + i + ".unit_value") || "").replace(/,/g, "").trim();
      var unit = raw === "" ? NaN : Number(raw);
      var out = row.querySelector("[data-line-total]");
      if (!isNaN(unit) && qty > 0) {
        total += unit * qty;
        if (out) { out.textContent = money(unit * qty); }
      } else if (out) { out.textContent = "—"; }
    });
    var text = money(total);
    var main = document.getElementById("running-total");
    if (main) { main.textContent = text; }
    Array.prototype.forEach.call(form.querySelectorAll("[data-total-mirror]"), function (o) { o.textContent = text; });
  }

  function applyReveals(form) {
    Array.prototype.forEach.call(form.querySelectorAll("[data-reveal]"), function (box) {
      var toggle = field(form, box.dataset.reveal);
      var hasValue = Array.prototype.some.call(box.querySelectorAll("input,textarea"), function (i) { return i.value; });
      var hasError = !!box.querySelector(".error");
      box.hidden = !(toggle && toggle.checked) && !hasValue && !hasError;
    });
  }

  function applyState(form, data) {
    SECTIONS.forEach(function (section) {
      var wanted = {};
      var re = new RegExp("^" + section + "\\.(\\d+)\\.");
      Object.keys(data).forEach(function (k) { var m = k.match(re); if (m) { wanted[m[1]] = true; } });
      rowsOf(form, section).forEach(function (row) { if (!wanted[row.dataset.index]) { row.remove(); } });
      Object.keys(wanted).map(Number).sort(function (a, b) { return a - b; }).forEach(function (i) {
        if (!form.querySelector("#row-" + section + "-" + i)) { addRow(form, section, i, data["persons." + i + ".ref"]); }
      });
      renumber(form, section);
    });
    Object.keys(data).forEach(function (k) {
      var m = k.match(/^persons\.(\d+)\.aliases\.(\d+)$/);
      if (m) { ensureAlias(form, m[1], parseInt(m[2], 10)); }
    });
    Object.keys(data).forEach(function (name) {
      Array.prototype.forEach.call(form.querySelectorAll("[name=\"" + name + "\"]"), function (el) {
        if (el.type === "checkbox") { el.checked = !!data[name]; }
        else if (el.type === "radio") { el.checked = el.value === data[name]; }
        else if (el.type !== "file") { el.value = data[name]; }
      });
    });
    rowsOf(form, "persons").forEach(function (row) {
      var inputs = row.querySelectorAll(".alias-list input");
      if (inputs.length) { growAliases(form, inputs[inputs.length - 1]); }
    });
    refreshPersonOptions(form, data);
    recomputeTotal(form);
    applyReveals(form);
  }

  function draftTitle(form) {
    var type = form.querySelector("input[name=type]:checked");
    var typeLabel = type ? form.querySelector("label[for=\"" + type.id + "\"]").textContent : "Event";
    var store = field(form, "store");
    var storeLabel = store && store.value ? store.options[store.selectedIndex].textContent : "";
    return typeLabel + (storeLabel ? " at " + storeLabel : "");
  }

  // Refusals returned by the draft save, shown at their fields while the user types.
  function showWarnings(form, warnings) {
    Array.prototype.forEach.call(form.querySelectorAll(".live-warning"), function (p) { p.remove(); });
    Array.prototype.forEach.call(form.querySelectorAll("[data-warned]"), function (el) {
      el.removeAttribute("data-warned");
      if (!el.closest(".field").querySelector(".error")) { el.removeAttribute("aria-invalid"); }
      var ids = (el.getAttribute("aria-describedby") || "").split(" ").filter(function (id) { return id && id !== el.id + "-warning"; });
      if (ids.length) { el.setAttribute("aria-describedby", ids.join(" ")); } else { el.removeAttribute("aria-describedby"); }
    });
    Object.keys(warnings || {}).forEach(function (name) {
      var el = field(form, name);
      if (!el || el.closest(".field").querySelector(".error:not(.live-warning)")) { return; }
      var p = document.createElement("p");
      p.className = "error live-warning";
      p.id = el.id + "-warning";
      p.textContent = warnings[name].join(" ");
      el.parentNode.insertBefore(p, el);
      el.setAttribute("aria-invalid", "true");
      el.setAttribute("data-warned", "1");
      var ids = (el.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      ids.unshift(p.id);
      el.setAttribute("aria-describedby", ids.join(" "));
    });
  }

  function initForm(form, options) {
    FORM = form;
    form.classList.add("js"); // drafts save themselves: the "Save draft" button can give way on a phone
    var key = form.dataset.draftKey || "";
    var draftUrl = form.dataset.draftUrl || "";
    var status = document.getElementById("draft-status");
    var submitted = false;
    var lastStatus = "";

    function setStatus(text, html) {
      if (!status || text === lastStatus) { return; }
      lastStatus = text;
      if (html) { status.innerHTML = html; } else { status.textContent = text; }
    }

    function saveLocal() {
      if (!key || submitted) { return; }
      putLocal({ key: key, data: formState(form), savedAt: Date.now(), synced: false, draftUrl: draftUrl,
                 resumeUrl: form.dataset.resumeUrl, title: draftTitle(form) });
      var url = new URL(window.location.href);
      if (url.searchParams.get("draft") !== key) {
        url.searchParams.set("draft", key);
        window.history.replaceState(null, "", url.toString());
      }
    }

    function saveServer() {
      var entry = key && getLocal(key);
      if (!entry || entry.synced || submitted) { return Promise.resolve(); }
      if (!navigator.onLine) {
        setStatus("Saved on this device. It will be saved to Auror when the connection is back.");
        return Promise.resolve();
      }
      return sendDraft(entry).then(function (body) {
        if (body && body.submitted) {
          submitted = true;
          setStatus("already", "This draft has already been recorded. <a href=\"" + esc(body.url) + "\">Open the event</a>.");
          return;
        }
        setStatus("Draft saved at " + clock(new Date()) + ".");
        showWarnings(form, body.warnings);
      }).catch(function () {
        setStatus("Saved on this device. It will be saved to Auror when the connection is back.");
      });
    }

    var saveLocalSoon = debounce(saveLocal, 250);
    var saveServerSoon = debounce(saveServer, 1200);
    function changed() { saveLocalSoon(); saveServerSoon(); }

    // Rows, aliases, totals, reveals.
    form.addEventListener("click", function (ev) {
      var button = ev.target.closest("button");
      if (!button || !form.contains(button)) { return; }
      if (button.name === "add") {
        ev.preventDefault();
        var row = addRow(form, button.value);
        if (row) {
          var first = row.querySelector("[name$='." + FOCUS[button.value] + "']");
          if (first) { first.focus(); }
          announce(row.querySelector("legend").textContent + " added.");
          changed();
        }
      } else if (button.name === "remove") {
        ev.preventDefault();
        var m = button.value.match(/^(\w+)\.(\d+)$/);
        var target = m && form.querySelector("#row-" + m[1] + "-" + m[2]);
        if (target) {
          var label = target.querySelector("legend").textContent;
          target.remove();
          renumber(form, m[1]);
          if (m[1] === "persons") { refreshPersonOptions(form); }
          recomputeTotal(form);
          var add = form.querySelector("button[data-add=" + m[1] + "]");
          if (add) { add.focus(); }
          announce(label + " removed.");
          changed();
        }
      }
    });

    form.addEventListener("input", function (ev) {
      var t = ev.target;
      if (t.id === "product-search") { return; }
      if (/\.aliases\.\d+$/.test(t.name || "")) { growAliases(form, t); }
      if (/^products\.\d+\.(quantity|unit_value)$/.test(t.name || "")) { recomputeTotal(form); }
      if (/^persons\.\d+\.name$/.test(t.name || "")) { refreshPersonOptions(form); }
      changed();
    });
    form.addEventListener("change", function (ev) {
      if (ev.target.id === "product-search") { return; }
      if (ev.target.type === "checkbox") { applyReveals(form); }
      changed();
    });
    form.addEventListener("keydown", function (ev) {
      var t = ev.target;
      if (ev.key === "Enter" && t.tagName === "INPUT" && t.type !== "submit" && t.type !== "search") {
        ev.preventDefault(); // Enter in a box must not send a half-typed event
      }
    });

    // Catalogue search.
    var box = document.getElementById("product-search-box");
    var searchUrl = form.dataset.searchUrl;
    if (box && searchUrl && box.closest("form") === form) {
      box.hidden = false;
      var input = document.getElementById("product-search");
      var results = document.getElementById("product-results");
      var searchStatus = document.getElementById("product-search-status");
      var seq = 0;

      var pick = function (p) {
        var row = rowsOf(form, "products").filter(function (r) {
          var i = r.dataset.index;
          return !val(form, "products." + i + ".sku").trim() && !val(form, "products." + i + ".description").trim();
        })[0] || addRow(form, "products");
        var i = row.dataset.index;
        field(form, "products." + i + ".sku").value = p.sku;
        field(form, "products." + i + ".description").value = p.description;
        field(form, "products." + i + ".unit_value").value = p.unit_value;
        var qty = field(form, "products." + i + ".quantity");
        if (!qty.value) { qty.value = "1"; }
        input.value = "";
        results.innerHTML = "";
        searchStatus.textContent = "Added " + p.description + ". Change the quantity if more than one was taken.";
        recomputeTotal(form);
        qty.focus();
        qty.select();
        changed();
      };

      var search = debounce(function () {
        var q = input.value.trim();
        var mine = ++seq;
        if (q.length < 2) { results.innerHTML = ""; searchStatus.textContent = ""; return; }
        fetch(searchUrl + "?q=" + encodeURIComponent(q), { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
          .then(function (body) {
            if (mine !== seq) { return; }
            var items = (body.results || []).slice(0, 8);
            results.innerHTML = "";
            items.forEach(function (p) {
              var li = document.createElement("li");
              var b = document.createElement("button");
              b.type = "button";
              b.className = "result";
              b.innerHTML = "<span class=\"desc\">" + esc(p.description) + "</span> <span class=\"meta\">" +
                esc(p.sku) + " · " + esc(p.unit_value) + "</span>";
              b.addEventListener("click", function () { pick(p); });
              li.appendChild(b);
              results.appendChild(li);
            });
            searchStatus.textContent = items.length ? (items.length + (items.length === 1 ? " product" : " products") + " found. Choose one to add it.")
              : "No product in the catalogue matches \u201c" + q + "\u201d. Type it in a product row below.";
          })
          .catch(function () {
            if (mine !== seq) { return; }
            results.innerHTML = "";
            searchStatus.textContent = navigator.onLine ? "The catalogue cannot be searched just now: type the product below."
              : "No connection, so no catalogue search: type the product below.";
          });
      }, 250);

      input.addEventListener("input", search);
      input.addEventListener("keydown", function (ev) {
        var buttons = results.querySelectorAll("button");
        if (ev.key === "Enter") {
          ev.preventDefault();
          if (buttons.length) { buttons[0].click(); }
        } else if (ev.key === "ArrowDown" && buttons.length) {
          ev.preventDefault();
          buttons[0].focus();
        } else if (ev.key === "Escape") {
          input.value = "";
          results.innerHTML = "";
          searchStatus.textContent = "";
        }
      });
      results.addEventListener("keydown", function (ev) {
        var buttons = Array.prototype.slice.call(results.querySelectorAll("button"));
        var at = buttons.indexOf(document.activeElement);
        if (ev.key === "ArrowDown" && at < buttons.length - 1) { ev.preventDefault(); buttons[at + 1].focus(); }
        if (ev.key === "ArrowUp") { ev.preventDefault(); (at > 0 ? buttons[at - 1] : input).focus(); }
        if (ev.key === "Escape") { input.focus(); }
      });
    }

    // Submit in the background; keep it on the device when there is no connection.
    function queue(fd) {
      var entries = [];
      fd.forEach(function (v, k) { entries.push([k, v]); });
      var item = { key: key || ("edit:" + window.location.pathname), draftKey: key, url: formUrl(form),
                   entries: entries, queuedAt: Date.now(), title: draftTitle(form), resumeUrl: form.dataset.resumeUrl };
      return outboxPut(item).then(function (stored) {
        outboxMessage("<strong>No connection.</strong> This event is saved on this device and will be sent " +
          "automatically when the connection is back" + (stored && stored.photosDropped ? " (without its photos: add them on the event page afterwards)" : "") +
          ". You can leave this page; don't clear the browser's data.", "queued");
        setStatus("Waiting for a connection to send the event.");
        window.scrollTo(0, 0);
      }).catch(function (err) {
        outboxMessage("No connection, and this device cannot store the event: keep this page open and try again. (" + esc(err.message) + ")", "problem");
      });
    }

    function swapPage(html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var newMain = doc.querySelector("main");
      if (!newMain || !newMain.querySelector("#event-form")) {
        outboxMessage("Something unexpected came back; your draft is kept. Try again.", "problem");
        return;
      }
      var chosen = {};
      Array.prototype.forEach.call(form.querySelectorAll("input[type=file][data-ref]"), function (i) {
        if (i.files && i.files.length) { chosen[i.dataset.ref] = i; }
      });
      document.querySelector("main").replaceWith(newMain);
      var fresh = document.getElementById("event-form");
      Array.prototype.forEach.call(fresh.querySelectorAll("input[type=file][data-ref]"), function (i) {
        var old = chosen[i.dataset.ref];
        if (!old) { return; }
        old.name = i.name;
        old.id = i.id;
        if (i.getAttribute("aria-describedby")) { old.setAttribute("aria-describedby", i.getAttribute("aria-describedby")); }
        i.replaceWith(old);
      });
      var again = document.getElementById("photos-again");
      if (again) { again.remove(); } // the photos were kept in the page
      initForm(fresh, { restore: false });
      var summary = document.getElementById("error-summary");
      if (summary) { summary.focus(); summary.scrollIntoView(); }
    }

    var busy = false;
    form.addEventListener("submit", function (ev) {
      var submitter = ev.submitter;
      var action = submitter && submitter.name === "action" ? submitter.value : "save";
      ev.preventDefault();
      if (action === "save") {
        saveLocal();
        if (key) { saveServer(); }
        announce("Draft saved.");
        return;
      }
      if (busy) { return; }
      saveLocal();
      var fd = new FormData(form);
      fd.set("action", "submit");
      if (!navigator.onLine) { queue(fd); return; }
      busy = true;
      var button = form.querySelector("#submit-event");
      if (button) { button.setAttribute("aria-busy", "true"); button.disabled = true; }
      fetch(formUrl(form), { method: "POST", body: fd, credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (r) {
          var json = (r.headers.get("Content-Type") || "").indexOf("application/json") === 0;
          if (r.ok && json) {
            return r.json().then(function (body) {
              submitted = true;
              if (key) { dropLocal(key); }
              window.location.assign(body.redirect);
            });
          }
          if (r.status === 400) { return r.text().then(swapPage); }
          if (r.ok && r.url.indexOf("/accounts/login") >= 0) {
            outboxMessage("You were signed out. Your draft is kept on this device: sign in again in another tab, then record it.", "problem");
            return;
          }
          outboxMessage("The event could not be recorded just now (error " + r.status + "). Your draft is kept; try again in a moment.", "problem");
        })
        .catch(function () { return queue(fd); })
        .finally(function () {
          busy = false;
          if (button && document.body.contains(button)) { button.disabled = false; button.removeAttribute("aria-busy"); }
        });
    });

    window.addEventListener("pagehide", function () { if (FORM === form) { saveLocalSoon.flush(); saveLocal(); } });
    window.addEventListener("online", function () { if (FORM === form) { saveServer(); } });
    window.addEventListener("offline", function () {
      if (FORM === form) { setStatus("No connection: what you type is kept on this device."); }
    });

    // A draft typed on this device and not yet on the server wins over the page's copy.
    if (options.restore && key) {
      var local = getLocal(key);
      if (local && local.data && !local.synced) {
        applyState(form, local.data);
        setStatus("Restored what you typed on this device.");
        saveServerSoon();
      }
    } else if (key) {
      saveLocal();
    }
    refreshPersonOptions(form);
    recomputeTotal(form);
    applyReveals(form);
    outboxAll().then(function (items) {
      var mine = items.filter(function (i) { return i.draftKey && i.draftKey === key; });
      if (mine.length) {
        outboxMessage("This event is waiting on this device to be sent; it will go as soon as there is a connection.", "queued");
      }
    });
  }

  // --- "My drafts": drafts kept only on this device ------------------------------------------------

  function initDraftsPage() {
    var section = document.getElementById("local-drafts");
    if (!section) { return; }
    var onServer = {};
    Array.prototype.forEach.call(document.querySelectorAll("#server-drafts [data-key]"), function (li) { onServer[li.dataset.key] = true; });
    outboxAll().then(function (queued) {
      var waiting = {};
      queued.forEach(function (i) { if (i.draftKey) { waiting[i.draftKey] = true; } });
      var list = document.getElementById("local-draft-list");
      var shown = 0;
      localDrafts().forEach(function (d) {
        if (onServer[d.key]) { return; }
        if (d.synced && !waiting[d.key]) { dropLocal(d.key); return; } // recorded or discarded elsewhere
        var li = document.createElement("li");
        li.className = "card draft";
        li.innerHTML = "<p class=\"draft-title\"><strong>" + esc(d.title || "Event") + "</strong></p>" +
          "<p class=\"help\">Typed " + esc(stamp(new Date(d.savedAt))) +
          (waiting[d.key] ? " · waiting for a connection to be sent" : " · not yet saved to Auror") + "</p>" +
          "<div class=\"actions\"><a class=\"btn\" href=\"" + esc(d.resumeUrl || "#") + "\">Continue</a></div>";
        list.appendChild(li);
        shown += 1;
      });
      section.hidden = shown === 0;
    });
    Array.prototype.forEach.call(document.querySelectorAll("form.discard[data-key]"), function (f) {
      f.addEventListener("submit", function () { dropLocal(f.dataset.key); });
    });
  }

  var form = document.getElementById("event-form");
  if (form) { initForm(form, { restore: true }); }
  initDraftsPage();
  flushOutbox();
  flushDrafts();
  window.addEventListener("online", function () { flushOutbox(); flushDrafts(); });
})();
