// MAOO run page: show a state's documents on click; re-read the page while the run is live;
// send Approve / Reject to the approval API. Everything it shows is already on the page.
(function () {
  "use strict";
  var data = null;
  var selected = null; // {state: name, visit: index}

  function readData() {
    var block = document.getElementById("run-data");
    data = block ? JSON.parse(block.textContent) : {docs: [], visits: []};
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function pretty(value) { return typeof value === "string" ? value : JSON.stringify(value, null, 2); }

  function changesTable(changes) {
    if (!changes.length) return el("p", {"class": "muted"}, "No change: the output document equals the input.");
    var table = el("table", {"class": "changes"});
    var head = el("tr");
    ["path", "change", "before", "after"].forEach(function (h) { head.appendChild(el("th", {}, h)); });
    table.appendChild(head);
    changes.forEach(function (c) {
      var row = el("tr");
      row.appendChild(el("td", {}, c.path));
      row.appendChild(el("td", {"class": "op-" + c.op}, c.op));
      row.appendChild(el("td", {"class": "mono"}, c.before === undefined ? "" : c.before));
      row.appendChild(el("td", {"class": "mono"}, c.after === undefined ? "" : c.after));
      table.appendChild(row);
    });
    return table;
  }

  function showVisit(visit, all) {
    var body = document.getElementById("detail-body");
    body.textContent = "";
    body.appendChild(el("h3", {"id": "detail-title"}, visit.name + " (" + visit.type + "), visit " +
      (all.indexOf(visit) + 1) + " of " + all.length + " · at +" + visit.at + " s" +
      (visit.ms === null ? " · in flight" : " · " + visit.ms + " ms")));
    var strip = el("div", {"class": "visits"});
    all.forEach(function (v, i) {
      var b = el("button", {"type": "button", "data-visit": v.index, "class": v === visit ? "on" : ""}, String(i + 1));
      b.addEventListener("click", function () { select(v.name, v.index); });
      strip.appendChild(b);
    });
    if (all.length > 1) body.appendChild(strip);
    if (visit.note) body.appendChild(el("p", {"class": "muted"}, visit.note));
    body.appendChild(el("h3", {}, "What changed"));
    body.appendChild(changesTable(visit.changes || []));
    body.appendChild(el("h3", {}, "Input"));
    body.appendChild(el("pre", {"id": "doc-input"}, visit.input === null ? "(none)" : pretty(data.docs[visit.input])));
    body.appendChild(el("h3", {}, "Output"));
    body.appendChild(el("pre", {"id": "doc-output"}, visit.output === null ? "(not yet: the state is in flight)" : pretty(data.docs[visit.output])));
  }

  function select(state, visitIndex) {
    selected = {state: state, visit: visitIndex};
    document.getElementById("detail").hidden = false;
    document.querySelectorAll("#graph .node.selected").forEach(function (n) { n.classList.remove("selected"); });
    var node = document.querySelector('#graph .node[data-state="' + state + '"]');
    if (node) node.classList.add("selected");
    var visits = data.visits.filter(function (v) { return v.name === state; });
    var body = document.getElementById("detail-body");
    if (!visits.length) {
      body.textContent = "";
      body.appendChild(el("h3", {"id": "detail-title"}, state));
      body.appendChild(el("p", {"class": "muted"}, "This run did not enter " + state + "."));
      return;
    }
    var visit = visits.filter(function (v) { return v.index === visitIndex; })[0] || visits[visits.length - 1];
    showVisit(visit, visits);
  }

  function bind() {
    document.querySelectorAll("#graph .node").forEach(function (node) {
      var go = function () { select(node.getAttribute("data-state"), null); };
      node.addEventListener("click", go);
      node.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") go(); });
    });
    document.querySelectorAll("[data-visit]").forEach(function (item) {
      if (item.closest(".visits")) return;
      item.addEventListener("click", function () {
        var index = Number(item.getAttribute("data-visit"));
        var visit = data.visits[index];
        if (visit) select(visit.name, index);
      });
    });
    document.getElementById("detail-close").addEventListener("click", function () {
      document.getElementById("detail").hidden = true;
      selected = null;
      document.querySelectorAll("#graph .node.selected").forEach(function (n) { n.classList.remove("selected"); });
    });
    var served = /^https?:$/.test(window.location.protocol);
    document.querySelectorAll("#approval button[data-decision]").forEach(function (button) {
      button.disabled = !served;
      button.addEventListener("click", function () { decide(button.getAttribute("data-decision")); });
    });
    document.querySelectorAll("#log button[data-fork]").forEach(function (button) {
      button.disabled = !served;
      button.addEventListener("click", function () { fork(button.getAttribute("data-fork"), false); });
    });
    if (!served && document.getElementById("fork-result")) {
      document.getElementById("fork-result").textContent =
        "This page is a file: open it from the API (GET /runs/" + data.run_id + "/view) to fork from a step.";
    }
    if (!served && document.getElementById("approval-result")) {
      document.getElementById("approval-result").textContent =
        "This page is a file: open it from the API (GET /runs/" + data.run_id + "/view) to approve or reject.";
    }
  }

  function decide(decision) {
    var reason = (document.getElementById("approval-reason") || {}).value || "";
    var out = document.getElementById("approval-result");
    out.textContent = "sending…";
    fetch("approval", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({decision: decision, reason: reason})})
      .then(function (r) { return r.json().then(function (body) { return {ok: r.ok, body: body}; }); })
      .then(function (r) {
        out.textContent = r.ok ? decision + " sent" : "refused: " + (r.body.message || r.body.error);
        if (r.ok) refresh();
      })
      .catch(function (e) { out.textContent = "could not reach the approval API: " + e; });
  }

  // POST /runs/{id}/fork; a fork that would send a write again asks the person first.
  function fork(step, yes) {
    var out = document.getElementById("fork-result");
    out.textContent = "forking from " + step + "…";
    fetch("fork", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({from_step: step, yes: yes, wait: false})})
      .then(function (r) { return r.json().then(function (body) { return {ok: r.ok, body: body}; }); })
      .then(function (r) {
        if (r.ok) {
          out.textContent = "fork started: ";
          out.appendChild(el("a", {"id": "fork-link", "href": "../" + r.body.run_id + "/view"}, r.body.run_id));
          return;
        }
        if (r.body.error === "confirmation_required" && !yes && window.confirm(r.body.message)) {
          fork(step, true);
          return;
        }
        out.textContent = "refused: " + (r.body.message || r.body.error);
      })
      .catch(function (e) { out.textContent = "could not reach the fork API: " + e; });
  }

  function refresh() {
    fetch(window.location.href, {cache: "no-store"})
      .then(function (r) { return r.text(); })
      .then(function (text) {
        var fresh = new DOMParser().parseFromString(text, "text/html").getElementById("page");
        if (!fresh) return;
        var keep = selected;
        document.getElementById("page").replaceWith(fresh);
        start();
        if (keep) select(keep.state, keep.visit);
      })
      .catch(function () { /* the next tick tries again */ });
  }

  var timer = null;
  function start() {
    readData();
    bind();
    var live = document.getElementById("page").getAttribute("data-live") === "true";
    if (timer) { clearTimeout(timer); timer = null; }
    if (live && /^https?:$/.test(window.location.protocol)) timer = setTimeout(refresh, data.refresh_ms || 2000);
  }

  window.maooSelect = select;
  start();
})();
