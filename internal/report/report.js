// The report page's script: a squarified treemap of the kept and dropped
// bytes by directory, a search over the kept paths with each one's chain of
// reasons, and the per-reason lists. Everything comes from the report
// embedded as JSON in #report-data (the model of pare build --report).
(function () {
  "use strict";
  var R = JSON.parse(document.getElementById("report-data").textContent);
  var kept = R.kept || [];
  var byPath = new Map();
  kept.forEach(function (k) { byPath.set(k.path, k); });

  // ibytes formats n like go-humanize's IBytes, as the Go side does.
  function ibytes(n) {
    if (n < 10) return n + " B";
    var sizes = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    var e = Math.floor(Math.log(n) / Math.log(1024));
    var val = n / Math.pow(1024, e);
    var intDigits = String(Math.trunc(val)).length;
    var digits = Math.max(2 - intDigits, 0);
    var rounding = Math.pow(10, digits);
    val = Math.floor(val * rounding + 0.5) / rounding;
    var newDigits = String(Math.trunc(val)).length;
    if (newDigits > intDigits) digits = Math.max(digits - (newDigits - intDigits), 0);
    return val.toFixed(digits) + " " + sizes[e];
  }
  function count(n) { return n.toLocaleString("en-US"); }
  function files(n) { return n === 1 ? " file" : " files"; }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var a in attrs || {}) e.setAttribute(a, attrs[a]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  var SVG = "http://www.w3.org/2000/svg";
  function sv(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    for (var a in attrs) e.setAttribute(a, attrs[a]);
    return e;
  }
  function dirname(p) { var i = p.lastIndexOf("/"); return i <= 0 ? "/" : p.slice(0, i); }

  // The tree: a node per directory, a leaf per kept regular file (each
  // inode once: same_as names are counted under their first name), a leaf
  // per directory for its dropped files, and one for what pare added.
  function newNode(kind, name, path) {
    return { kind: kind, name: name, path: path, kids: [], sub: null, kept: 0, dropped: 0, files: 0, dfiles: 0, parent: null };
  }
  var root = newNode("dir", "/", "/");
  function dirNode(p) {
    var n = root;
    if (p === "/") return n;
    var parts = p.split("/").slice(1);
    var cur = "";
    for (var i = 0; i < parts.length; i++) {
      cur += "/" + parts[i];
      if (!n.sub) n.sub = new Map();
      var c = n.sub.get(parts[i]);
      if (!c) {
        c = newNode("dir", parts[i], cur);
        c.parent = n;
        n.sub.set(parts[i], c);
        n.kids.push(c);
      }
      n = c;
    }
    return n;
  }
  function addLeaf(dir, leaf) { leaf.parent = dir; dir.kids.push(leaf); }
  var keptBytes = 0, keptFiles = 0;
  kept.forEach(function (k) {
    if (k.type !== "file" || k.same_as) return;
    var f = newNode("file", k.path.slice(k.path.lastIndexOf("/") + 1), k.path);
    f.kept = k.size || 0;
    f.files = 1;
    keptBytes += f.kept;
    keptFiles++;
    addLeaf(dirNode(dirname(k.path)), f);
  });
  (R.dropped_dirs || []).forEach(function (d) {
    var n = newNode("dropped", "dropped files", d.dir);
    n.dropped = d.bytes;
    n.dfiles = d.files;
    addLeaf(dirNode(d.dir), n);
  });
  var added = { bytes: R.after.bytes - keptBytes, files: R.after.files - keptFiles };
  if (added.bytes > 0 || added.files > 0) {
    var a = newNode("added", "added by pare", "/");
    a.kept = added.bytes;
    a.files = added.files;
    addLeaf(root, a);
    document.getElementById("legend-added").hidden = false;
  }
  (function sum(n) {
    n.kids.forEach(function (c) {
      if (c.kind === "dir") sum(c);
      n.kept += c.kept; n.dropped += c.dropped; n.files += c.files; n.dfiles += c.dfiles;
    });
    n.kids.sort(function (x, y) { return (y.kept + y.dropped) - (x.kept + x.dropped) || (x.name < y.name ? -1 : 1); });
  })(root);
  function value(n) { return n.kept + n.dropped; }

  // The figures, straight from the report's totals.
  var droppedBytes = R.dropped_bytes !== undefined ? R.dropped_bytes : R.before.bytes - R.after.bytes;
  var figs = document.getElementById("tm-figures");
  figs.textContent = "";
  function fig(id, v, text) { var s = el("b", { id: id, "data-value": String(v) }, text); figs.appendChild(s); }
  function txt(t) { figs.appendChild(document.createTextNode(t)); }
  fig("fig-kept-bytes", R.after.bytes, ibytes(R.after.bytes)); txt(" kept in ");
  fig("fig-kept-files", R.after.files, count(R.after.files)); txt(files(R.after.files) + " · ");
  fig("fig-dropped-bytes", droppedBytes, ibytes(droppedBytes)); txt(" dropped in ");
  fig("fig-dropped-files", R.dropped_files, count(R.dropped_files)); txt(files(R.dropped_files) + " · source ");
  fig("fig-before-bytes", R.before.bytes, ibytes(R.before.bytes)); txt(" in ");
  fig("fig-before-files", R.before.files, count(R.before.files)); txt(files(R.before.files));
  if (added.files > 0) txt(" · " + ibytes(added.bytes) + " in " + count(added.files) + files(added.files) + " added by pare");

  // Squarified layout (Bruls, Huizing, van Wijk): rows laid along the
  // shorter side while they improve the worst aspect ratio.
  function worst(row, s, side) {
    var max = 0, min = Infinity;
    row.forEach(function (r) { if (r.a > max) max = r.a; if (r.a < min) min = r.a; });
    var s2 = s * s, w2 = side * side;
    return Math.max(w2 * max / s2, s2 / (w2 * min));
  }
  function squarify(items, x, y, w, h) {
    var total = 0;
    items.forEach(function (it) { total += it.v; });
    var scale = w * h / total;
    items.forEach(function (it) { it.a = it.v * scale; });
    var i = 0;
    while (i < items.length) {
      var side = Math.min(w, h);
      var row = [items[i]], s = items[i].a, cur = worst(row, s, side), j = i + 1;
      for (; j < items.length; j++) {
        row.push(items[j]);
        var nw = worst(row, s + items[j].a, side);
        if (nw > cur) { row.pop(); break; }
        s += items[j].a;
        cur = nw;
      }
      var last = j >= items.length;
      if (w >= h) {
        var cw = last ? w : s / h, yy = y;
        row.forEach(function (r, k) { r.x = x; r.y = yy; r.w = cw; r.h = k === row.length - 1 ? y + h - yy : r.a / cw; yy += r.h; });
        x += cw; w -= cw;
      } else {
        var rh = last ? h : s / w, xx = x;
        row.forEach(function (r, k) { r.x = xx; r.y = y; r.h = rh; r.w = k === row.length - 1 ? x + w - xx : r.a / rh; xx += r.w; });
        y += rh; h -= rh;
      }
      i = j;
    }
    return items;
  }

  var W = 1000, H = 560, MAXDEPTH = 3, MINAREA = 150, HEAD = 15;
  var svg = document.getElementById("treemap");
  var info = document.getElementById("tm-info");
  var crumbs = document.getElementById("tm-crumbs");
  var zoom = root;

  function describe(n) {
    var s = n.kind === "dropped" ? n.path + " (files dropped here)" : n.kind === "added" ? "added by pare" : n.path;
    if (n.kind === "other") s = n.name + " in " + n.path;
    var parts = [];
    if (n.files > 0 || n.kind === "file") parts.push(ibytes(n.kept) + " kept" + (n.kind === "file" ? "" : " in " + count(n.files) + files(n.files)));
    if (n.dfiles > 0) parts.push(ibytes(n.dropped) + " dropped in " + count(n.dfiles) + files(n.dfiles));
    return s + " — " + parts.join(" · ");
  }
  function label(g, text, x, y, w, cls) {
    var max = Math.floor((w - 6) / 6.7);
    if (max < 2) return;
    if (text.length > max) text = text.slice(0, max - 1) + "…";
    var t = sv("text", { x: (x + 3).toFixed(2), y: (y + 11).toFixed(2) });
    if (cls) t.setAttribute("class", cls);
    t.textContent = text;
    g.appendChild(t);
  }
  // parts fills a rectangle with the kept (or added) and dropped shares of n.
  function parts(g, n, x, y, w, h) {
    var keptCls = n.kind === "added" ? "tm-added" : "tm-kept";
    var v = value(n), k = n.kept / v;
    var horiz = w >= h;
    var kw = horiz ? w * k : w, kh = horiz ? h : h * k;
    if (n.kept > 0) g.appendChild(sv("rect", { class: "tm-part " + keptCls, x: x, y: y, width: kw, height: kh }));
    if (n.dropped > 0) g.appendChild(sv("rect", { class: "tm-part tm-dropped", x: horiz ? x + kw : x, y: horiz ? y : y + kh, width: horiz ? w - kw : w, height: horiz ? h : h - kh }));
    // The label sits at the top left: on the kept share when that is tall
    // and wide enough to hold it.
    return n.kept > 0 && (n.dropped === 0 || kw >= 40 && kh >= 14) ? (n.kind === "added" ? "on-added" : "on-kept") : "on-dropped";
  }
  function drawKids(n, parent, x, y, w, h, depth) {
    var kids = n.kids.filter(function (c) { return value(c) > 0; });
    if (!kids.length || w < 1 || h < 1) return;
    var total = value(n), area = w * h, big = [], small = [];
    kids.forEach(function (c) { (value(c) / total * area < MINAREA ? small : big).push(c); });
    if (small.length === 1) { big.push(small[0]); small = []; }
    var items = big.map(function (c) { return { node: c, v: value(c) }; });
    if (small.length) {
      var o = newNode("other", small.length + " smaller items", n.path);
      o.parent = n;
      small.forEach(function (c) { o.kept += c.kept; o.dropped += c.dropped; o.files += c.files; o.dfiles += c.dfiles; });
      items.push({ node: o, v: value(o) });
    }
    squarify(items, x, y, w, h).forEach(function (it) { drawNode(it.node, parent, it, depth); });
  }
  function drawNode(n, parent, r, depth) {
    var g = sv("g", {
      class: "tm-node " + (n.kind === "dir" ? "tm-dir" : n.kind === "other" ? "tm-leaf tm-agg" : n.kind === "file" ? "tm-leaf tm-file" : "tm-leaf"),
      "data-depth": depth, "data-path": n.path, "data-kind": n.kind,
      "data-bytes": value(n), "data-kept": n.kept, "data-dropped": n.dropped,
    });
    var box = sv("rect", { class: "tm-box", x: r.x, y: r.y, width: r.w, height: r.h });
    var title = sv("title", {});
    title.textContent = describe(n);
    g.appendChild(title);
    g.appendChild(box);
    parent.appendChild(g);
    var nested = n.kind === "dir" && depth < MAXDEPTH && r.w > 30 && r.h > HEAD + 12;
    if (nested) {
      label(g, n.name + " " + ibytes(value(n)), r.x, r.y, r.w);
      drawKids(n, g, r.x + 2, r.y + HEAD, r.w - 4, r.h - HEAD - 2, depth + 1);
    } else {
      if (n.kind === "dir") g.setAttribute("class", "tm-node tm-leaf tm-agg");
      var cls = parts(g, n, r.x, r.y, r.w, r.h);
      g.appendChild(g.removeChild(box));
      if (r.h > 13) label(g, n.kind === "dir" ? n.name + "/" : n.name, r.x, r.y, r.w, cls);
    }
    g.addEventListener("mouseover", function (ev) { ev.stopPropagation(); info.textContent = describe(n); });
    g.addEventListener("click", function (ev) {
      ev.stopPropagation();
      if (n.kind === "dir" && n !== zoom) draw(n);
      else if (n.kind === "file") showWhy(n.path, true);
      else if ((n.kind === "dropped" || n.kind === "other") && n.parent !== zoom) draw(n.parent);
    });
  }
  function draw(n) {
    zoom = n;
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    drawKids(n, svg, 0, 0, W, H, 1);
    crumbs.textContent = "";
    var chain = [];
    for (var c = n; c; c = c.parent) chain.unshift(c);
    chain.forEach(function (c, i) {
      if (i > 0) crumbs.appendChild(document.createTextNode(i > 1 ? " / " : " "));
      if (c === n) crumbs.appendChild(el("b", {}, c.name));
      else {
        var b = el("button", { type: "button", "data-path": c.path }, c.name);
        b.addEventListener("click", function () { draw(c); });
        crumbs.appendChild(b);
      }
    });
    crumbs.appendChild(document.createTextNode(" — " + ibytes(n.kept) + " kept, " + ibytes(n.dropped) + " dropped"));
    info.textContent = "Click a directory to zoom in; hover for sizes; click a kept file for its reasons.";
  }
  draw(root);

  // The reason chain of a kept path: its first reason, then the first
  // reason of the path that caused it, up to a root (as pare why).
  function chainOf(p) {
    var steps = [], seen = new Set();
    while (p && !seen.has(p)) {
      seen.add(p);
      var it = byPath.get(p);
      if (!it || !it.reasons || !it.reasons.length) break;
      var r = it.reasons[0];
      steps.push({ path: p, reason: r });
      p = r.from;
      if (r.kind === "trace" || (r.kind === "symlink" && r.from === it.path)) break;
    }
    return steps;
  }
  var whyBox = document.getElementById("why");
  function pathLink(p) {
    var a = el("a", { class: "path", "data-path": p, tabindex: "0" }, p);
    a.addEventListener("click", function () { showWhy(p, false); });
    return a;
  }
  function reasonLine(li, r) {
    li.appendChild(el("span", { class: r.from ? "kind" : "kind root" }, r.kind));
    if (r.rule) li.appendChild(document.createTextNode("rule " + r.rule + " "));
    if (r.from) { li.appendChild(document.createTextNode("of ")); li.appendChild(pathLink(r.from)); }
    if (r.detail) li.appendChild(document.createTextNode(" (" + r.detail + ")"));
  }
  function showWhy(p, scroll) {
    var k = byPath.get(p);
    whyBox.textContent = "";
    whyBox.hidden = false;
    if (!k) { whyBox.appendChild(el("p", {}, p + " is not kept")); return; }
    whyBox.appendChild(el("h3", { id: "why-path" }, k.path + (k.link ? " → " + k.link : "")));
    var meta = k.type + (k.size ? ", " + ibytes(k.size) : "") + (k.same_as ? ", the same file as " + k.same_as : "");
    whyBox.appendChild(el("div", { class: "sub" }, meta));
    whyBox.appendChild(el("p", { id: "why-chain", class: "mono" }, k.chain));
    var ol = el("ol", { id: "why-steps" });
    chainOf(p).forEach(function (st, i) {
      var li = el("li", { "data-path": st.path, "data-kind": st.reason.kind });
      li.appendChild(i === 0 ? el("code", {}, st.path) : pathLink(st.path));
      li.appendChild(document.createTextNode(" ← "));
      reasonLine(li, st.reason);
      ol.appendChild(li);
    });
    whyBox.appendChild(ol);
    if (k.reasons.length > 1) {
      whyBox.appendChild(el("div", { class: "sub" }, "also kept for " + (k.reasons.length - 1) + " more reason" + (k.reasons.length > 2 ? "s" : "") + ":"));
      var ul = el("ul", { id: "why-more" });
      k.reasons.slice(1).forEach(function (r) { var li = el("li"); reasonLine(li, r); ul.appendChild(li); });
      whyBox.appendChild(ul);
    }
    if (scroll) whyBox.scrollIntoView({ block: "nearest" });
  }

  // The search: every kept path, exact matches first, then names that start
  // with the query, then shorter paths.
  var input = document.getElementById("search");
  var results = document.getElementById("search-results");
  var lower = kept.map(function (k) { return k.path.toLowerCase(); });
  var LIMIT = 40;
  function search() {
    var q = input.value.trim().toLowerCase();
    results.textContent = "";
    if (!q) return;
    var hits = [];
    for (var i = 0; i < lower.length; i++) if (lower[i].indexOf(q) >= 0) hits.push(i);
    function rank(i) {
      var p = lower[i];
      if (p === q) return 0;
      return p.slice(p.lastIndexOf("/") + 1).indexOf(q) === 0 ? 1 : 2;
    }
    hits.sort(function (a, b) { return rank(a) - rank(b) || lower[a].length - lower[b].length || (lower[a] < lower[b] ? -1 : 1); });
    hits.slice(0, LIMIT).forEach(function (i) {
      var k = kept[i];
      var li = el("li", { "data-path": k.path });
      li.appendChild(el("span", {}, k.path + (k.link ? " → " + k.link : "")));
      li.appendChild(el("span", { class: "sub" }, k.type === "file" ? ibytes(k.size || 0) : k.type));
      li.addEventListener("click", function () { select(li); showWhy(k.path, false); });
      results.appendChild(li);
    });
    if (hits.length > LIMIT) results.appendChild(el("li", { class: "sub" }, (hits.length - LIMIT) + " more: type more of the path"));
    if (hits.length && (hits.length === 1 || rank(hits[0]) === 0)) { select(results.firstChild); showWhy(kept[hits[0]].path, false); }
    else if (!hits.length) results.appendChild(el("li", { class: "sub" }, "no kept path contains " + JSON.stringify(input.value.trim())));
  }
  function select(li) {
    Array.prototype.forEach.call(results.querySelectorAll("li.sel"), function (x) { x.classList.remove("sel"); });
    if (li) li.classList.add("sel");
  }
  input.addEventListener("input", search);
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter") { var li = results.querySelector("li[data-path]"); if (li) li.click(); }
  });

  // The per-reason lists, filled when a group is opened.
  Array.prototype.forEach.call(document.querySelectorAll("details.group"), function (d) {
    d.addEventListener("toggle", function () {
      var table = d.querySelector("table");
      if (!d.open || table.rows.length) return;
      var key = d.getAttribute("data-group");
      var items = kept.filter(function (k) {
        if (k.type === "dir" || !k.reasons || !k.reasons.length) return false;
        var r = k.reasons[0];
        return r.kind + (r.rule ? ": " + r.rule : "") === key;
      });
      items.sort(function (a, b) { return (b.size || 0) - (a.size || 0); });
      items.forEach(function (k) {
        var tr = table.insertRow();
        var c = tr.insertCell();
        c.className = "mono";
        c.textContent = k.path + (k.link ? " → " + k.link : "");
        c = tr.insertCell();
        c.className = "num";
        c.textContent = k.size ? ibytes(k.size) : "";
        tr = table.insertRow();
        c = tr.insertCell();
        c.colSpan = 2;
        c.className = "chain mono";
        c.textContent = k.chain;
      });
    });
  });
})();
