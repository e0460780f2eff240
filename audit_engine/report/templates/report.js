/* audit-engine HTML report: filters, the findings panel of a clicked element, data-flow lines.
   The page is complete without this script; it only adds interaction and the flow lines. */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  document.documentElement.classList.add("js");

  function setupFilters(sec) {
    var form = sec.querySelector("form.filters");
    if (!form) return;
    var rows = Array.prototype.slice.call(sec.querySelectorAll(".findings-section table.findings > tbody > tr"));
    var shown = form.querySelector(".shown");
    function apply() {
      var sevs = {};
      form.querySelectorAll("input[name=sev]").forEach(function (i) { if (i.checked) sevs[i.value] = true; });
      var pack = form.elements.pack.value, sh = form.elements.stakeholder.value, waived = form.elements.waived.checked;
      var n = 0;
      rows.forEach(function (tr) {
        var d = tr.dataset;
        var ok = !!sevs[d.sev] && (!pack || d.pack === pack) && (waived || !("waived" in d)) &&
                 (!sh || (" " + d.sh + " ").indexOf(" " + sh + " ") >= 0);
        tr.hidden = !ok;
        if (ok) n++;
      });
      shown.textContent = n + " of " + rows.length + " shown";
    }
    form.addEventListener("change", apply);
    form.addEventListener("reset", function () { setTimeout(apply, 0); });
    form.hidden = false;
    apply();
  }

  function setupPanel(sec, data) {
    var panel = sec.querySelector("aside.panel");
    var body = panel.querySelector("tbody");
    var last = null;
    function close() {
      panel.hidden = true;
      sec.querySelectorAll(".selected").forEach(function (e) { e.classList.remove("selected"); });
      if (last) last.focus();
    }
    function open(el) {
      sec.querySelectorAll(".selected").forEach(function (e) { e.classList.remove("selected"); });
      el.classList.add("selected");
      last = el;
      var ids = data.marks[el.id] || [];
      panel.querySelector(".panel-title").textContent = el.dataset.title || "";
      while (body.firstChild) body.removeChild(body.firstChild);
      ids.forEach(function (id) {
        var tr = document.getElementById(id);
        if (!tr) return;
        var copy = tr.cloneNode(true);
        copy.removeAttribute("id");
        copy.hidden = false;
        copy.querySelectorAll("details").forEach(function (d) { d.open = true; });
        body.appendChild(copy);
      });
      panel.querySelector(".panel-note").textContent = ids.length
        ? ids.length + " finding" + (ids.length === 1 ? "" : "s") + " (waived ones included)"
        : "No findings here.";
      panel.hidden = false;
      panel.scrollTop = 0;
      panel.querySelector(".panel-close").focus();
    }
    sec.addEventListener("click", function (ev) {
      var el = ev.target.closest("[data-mark]");
      if (!el || !sec.contains(el) || panel.contains(el)) return;
      ev.preventDefault();
      open(el);
    });
    sec.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape" && !panel.hidden) { close(); return; }
      var el = ev.target.closest && ev.target.closest("[data-mark]");
      if (el && el === ev.target && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); open(el); }
    });
    panel.querySelector(".panel-close").addEventListener("click", close);
  }

  function drawFlows(sec, data) {
    var grid = sec.querySelector(".swimlane");
    if (!grid) return;
    var svg = grid.querySelector("svg.flowlines");
    var prefix = sec.id.replace(/map$/, "");
    var labels = grid.querySelector("svg.flowlabels");
    grid.querySelectorAll("g.flow, text.flow").forEach(function (e) { e.remove(); });
    var W = grid.scrollWidth, H = grid.scrollHeight, g0 = grid.getBoundingClientRect();
    [svg, labels].forEach(function (s) {
      s.setAttribute("width", W);
      s.setAttribute("height", H);
      s.setAttribute("viewBox", "0 0 " + W + " " + H);
    });
    function box(el) {
      var r = el.getBoundingClientRect();
      return { x: r.left - g0.left, y: r.top - g0.top, w: r.width, h: r.height };
    }
    function centre(b) { return { x: b.x + b.w / 2, y: b.y + b.h / 2 }; }
    function edge(b, to) {
      var c = centre(b), dx = to.x - c.x, dy = to.y - c.y;
      if (!dx && !dy) return c;
      var s = Math.min(dx ? b.w / 2 / Math.abs(dx) : Infinity, dy ? b.h / 2 / Math.abs(dy) : Infinity);
      return { x: c.x + dx * s, y: c.y + dy * s };
    }
    data.flows.forEach(function (f, i) {
      var a = document.getElementById(f.from), b = document.getElementById(f.to);
      if (!a || !b || a === b) return;
      var ba = box(a), bb = box(b), p = edge(ba, centre(bb)), q = edge(bb, centre(ba));
      var dx = q.x - p.x, dy = q.y - p.y, len = Math.hypot(dx, dy) || 1, bend = 16 + (i % 3) * 10;
      var cx = (p.x + q.x) / 2 - dy / len * bend, cy = (p.y + q.y) / 2 + dx / len * bend;
      var g = document.createElementNS(SVG, "g");
      g.setAttribute("class", "flow t-" + f.tone);
      var path = document.createElementNS(SVG, "path");
      path.setAttribute("class", "flow" + (f.handoff ? " handoff" : ""));
      path.setAttribute("d", "M" + p.x.toFixed(1) + "," + p.y.toFixed(1) + " Q" + cx.toFixed(1) + "," + cy.toFixed(1) +
                        " " + q.x.toFixed(1) + "," + q.y.toFixed(1));
      path.setAttribute("marker-end", "url(#" + prefix + "arrow-" + f.tone + ")");
      path.setAttribute("data-flow", f.id);
      var title = document.createElementNS(SVG, "title");
      title.textContent = f.label;
      path.appendChild(title);
      g.appendChild(path);
      if (f.handoff) {  // the label goes on the top layer, near the arrow, so cards do not hide it
        var t = document.createElementNS(SVG, "text"), u = 0.85;
        t.setAttribute("x", ((1 - u) * (1 - u) * p.x + 2 * (1 - u) * u * cx + u * u * q.x).toFixed(1));
        t.setAttribute("y", ((1 - u) * (1 - u) * p.y + 2 * (1 - u) * u * cy + u * u * q.y - 6).toFixed(1));
        t.setAttribute("text-anchor", "middle");
        t.setAttribute("class", "flow");
        t.textContent = "\u21c4 hand-off";
        labels.appendChild(t);
      }
      svg.appendChild(g);
    });
  }

  var sections = [];
  document.querySelectorAll("section.map").forEach(function (sec) {
    var el = sec.querySelector("script.map-data");
    var data = el ? JSON.parse(el.textContent) : { flows: [], marks: {} };
    sections.push([sec, data]);
    setupFilters(sec);
    setupPanel(sec, data);
    var toggle = sec.querySelector("input.show-flows");
    if (toggle) toggle.addEventListener("change", function () {
      sec.querySelector(".swimlane").classList.toggle("no-flows", !toggle.checked);
    });
  });
  function redraw() { sections.forEach(function (s) { drawFlows(s[0], s[1]); }); }
  redraw();
  var pending = null;
  window.addEventListener("resize", function () { clearTimeout(pending); pending = setTimeout(redraw, 100); });
  window.addEventListener("load", redraw);

  var closed = [];
  window.addEventListener("beforeprint", function () {
    closed = Array.prototype.slice.call(document.querySelectorAll("details:not([open])"));
    closed.forEach(function (d) { d.open = true; });
    redraw();
  });
  window.addEventListener("afterprint", function () {
    closed.forEach(function (d) { d.open = false; });
    closed = [];
    redraw();
  });
}());
