// The HTML page of `heap map --html`: one self-contained file (no network,
// no external scripts). The data sits in a JSON <script> block; a canvas
// draws every heap to one scale, each pixel column summing the bytes of the
// spans under it, so a million chunks cost one pass, not a million nodes.
// After the first draw the page checks itself (a synthetic mousemove must
// show a tooltip) and records the outcome on <body> as data attributes
// (data-arenas-drawn, data-heaps-drawn, data-errors, data-selftest) for tests.
#include "render/map_render.h"

namespace heapscope {

namespace {

constexpr std::string_view kTemplate = R"HSMAP(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>heapscope heap map</title>
<style>
html,body{margin:0;height:100%}
body{font:13px system-ui,-apple-system,"Segoe UI",sans-serif;background:#f6f6f6;color:#222;display:flex;overflow:hidden}
#main{flex:1;display:flex;flex-direction:column;min-width:0}
#bar{padding:6px 10px;border-bottom:1px solid #ddd;background:#fff;display:flex;gap:6px;align-items:center;flex-wrap:wrap}
#bar button{font:inherit;padding:1px 8px}
#legend{display:flex;flex-wrap:wrap;gap:2px 10px;margin-left:8px}
#legend .sw{display:inline-block;width:11px;height:11px;margin-right:3px;vertical-align:-1px;border:1px solid #0004}
#view{flex:1;overflow-y:auto;overflow-x:hidden;position:relative}
#cv{display:block;cursor:grab}
#side{width:330px;overflow-y:auto;border-left:1px solid #ddd;background:#fff;padding:8px 12px;box-sizing:border-box}
#side h3{margin:12px 0 4px;font-size:14px}
#side table{border-collapse:collapse;width:100%}
#side td{padding:0 4px}
#side td.n{text-align:right;font-family:ui-monospace,monospace}
.hb{display:inline-block;height:8px;background:#6b6ecf;vertical-align:0}
.hu{background:#393b79}
.mk{cursor:pointer;font:12px ui-monospace,monospace;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;padding:1px 2px}
.mk:hover{background:#e8ecff}
.mk .sw{display:inline-block;width:8px;height:8px;margin-right:4px}
#tip{position:fixed;pointer-events:none;background:#222e;color:#fff;padding:5px 8px;border-radius:4px;font:12px ui-monospace,monospace;white-space:pre;display:none;z-index:10}
.muted{color:#777}
</style>
</head>
<body>
<div id="main">
  <div id="bar">
    <b id="title">heap map</b>
    <button id="zin" title="zoom in (+)">+</button><button id="zout" title="zoom out (-)">&minus;</button><button id="reset" title="reset (0)">reset</button>
    <span id="scale" class="muted"></span>
    <div id="legend"></div>
  </div>
  <div id="view"><canvas id="cv"></canvas></div>
</div>
<div id="side"></div>
<div id="tip"></div>
<script id="heapscope-data" type="application/json">/*HEAPSCOPE_DATA*/</script>
<script>
"use strict";
(function () {
  var errors = [];
  function noteError(msg) { errors.push(String(msg)); document.body.setAttribute("data-errors", String(errors.length)); }
  window.addEventListener("error", function (e) { noteError(e.message); });
  var consoleError = console.error;
  console.error = function () { noteError(Array.prototype.join.call(arguments, " ")); consoleError.apply(console, arguments); };
  document.body.setAttribute("data-errors", "0");

  var D = JSON.parse(document.getElementById("heapscope-data").textContent);
  var NS = D.legend.length;
  var color = [], name = [];
  D.legend.forEach(function (l) { color[l.state] = l.color; name[l.state] = l.name; });

  function hex(n) { return "0x" + n.toString(16); }
  function human(n) {
    var u = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return i ? n.toFixed(1) + " " + u[i] : n + " B";
  }
  function pct(f) { return (f * 100).toFixed(1) + "%"; }
  // glibc's rows are an arena's heaps; another allocator's (D.allocator)
  // are an owner's system ranges, each with its label.
  function rowName(h) { return h.mm ? "mmapped chunk " + h.index : h.label || "arena " + h.arena + " heap " + h.index; }
  var UNIT = D.allocator ? "block" : "chunk";  // what the allocator hands out, in its own word
  function ownerName(a) { return a.label || "arena " + a.index + (a.main ? " (main)" : ""); }

  // Decode each heap's spans (see map_render.cc).
  D.heaps.forEach(function (h) {
    var bin = atob(h.spans), n = h.nspans, buf = new ArrayBuffer(bin.length), u8 = new Uint8Array(buf);
    for (var i = 0; i < bin.length; i++) u8[i] = bin.charCodeAt(i);
    h.off = new Uint32Array(buf, 0, n); h.len = new Uint32Array(buf, 4 * n, n);
    h.cnt = new Uint32Array(buf, 8 * n, n); h.st = new Uint8Array(buf, 12 * n, n);
    h.base = parseInt(h.begin, 16);
    if (h.bounds !== undefined) {
      var bb = atob(h.bounds), bbuf = new ArrayBuffer(bb.length), b8 = new Uint8Array(bbuf);
      for (var k = 0; k < bb.length; k++) b8[k] = bb.charCodeAt(k);
      // Steps from the chunk before, in 16 bytes (map_render.cc's chunk_bounds).
      var steps = new Uint16Array(bbuf, 0, bb.length >> 1), bd = new Uint32Array(steps.length), nb = 0, at = 0;
      for (var q = 0; q < steps.length; q++) {
        var st16 = steps[q];
        if (st16 === 0xffff) { st16 = steps[q + 1] * 65536 + steps[q + 2]; q += 2; }
        at += st16; bd[nb++] = at;
      }
      h.bd = bd.subarray(0, nb);
      if (h.first !== undefined) {
        var fb = atob(h.first);
        h.fw = new Uint8Array(fb.length);
        for (var q2 = 0; q2 < fb.length; q2++) h.fw[q2] = fb.charCodeAt(q2);
      }
    }
  });
  // mmapped chunks: a row each, drawn like a heap of one chunk.
  var MMAPPED = 7;
  var mmHeaps = D.mmapped.list.map(function (c, i) {
    var size = c.size, unit = 16;
    return { arena: -1, index: i, mm: true, begin: c.address, base: parseInt(c.address, 16), size: size, chunks: 1,
             unit: unit, nspans: 1, off: new Uint32Array([0]), len: new Uint32Array([Math.max(1, size / unit)]),
             cnt: new Uint32Array([1]), st: new Uint8Array([MMAPPED]), bd: new Uint32Array([0]) };
  });
  var arenaByIndex = {};
  D.arenas.forEach(function (a) { arenaByIndex[a.index] = a; });

  // Rows: an arena header, then one bar per heap, all to one scale.
  var HEAD = 24, ROW = 44, BAR = 28, LM = 10, RM = 10;
  var rows = [], y = 6;
  var lastArena = null;
  D.heaps.forEach(function (h) {
    if (h.arena !== lastArena) { rows.push({ kind: "arena", arena: h.arena, y: y }); y += HEAD; lastArena = h.arena; }
    rows.push({ kind: "heap", heap: h, y: y }); y += ROW;
  });
  if (mmHeaps.length) {
    rows.push({ kind: "mmhead", y: y }); y += HEAD;
    mmHeaps.forEach(function (h) { rows.push({ kind: "heap", heap: h, y: y }); y += ROW; });
  }
  var totalHeight = y + 6;
  var maxSize = 1;
  D.heaps.forEach(function (h) { maxSize = Math.max(maxSize, h.size); });
  mmHeaps.forEach(function (h) { maxSize = Math.max(maxSize, h.size); });

  // Marks (problems, leaks): each placed in the row whose range holds it.
  var MARK_COLOR = { finding: "#d62728", direct: "#111111", indirect: "#8c8c8c", possible: "#bcbd22" };
  var marks = D.marks.map(function (m) {
    var a = parseInt(m.address, 16), row = null;
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      if (r.kind === "heap" && a >= r.heap.base && a < r.heap.base + r.heap.size) { row = r; break; }
    }
    return { m: m, a: a, row: row, off: row ? a - row.heap.base : 0, size: m.size };
  });
  var selected = null;

  var cv = document.getElementById("cv"), view = document.getElementById("view"), tip = document.getElementById("tip");
  var ctx = cv.getContext("2d");
  var W = 800, bpp = 1, start = 0, bppFit = 1;

  function plotWidth() { return Math.max(50, W - LM - RM); }
  function fit() { bppFit = maxSize / plotWidth(); bpp = bppFit; start = 0; }

  function resize() {
    W = Math.max(300, view.clientWidth || 800);
    var dpr = window.devicePixelRatio || 1;
    cv.width = Math.round(W * dpr); cv.height = Math.round(totalHeight * dpr);
    cv.style.width = W + "px"; cv.style.height = totalHeight + "px";
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }

  // First span whose end is past byte offset `b` (offsets in h.unit).
  function firstSpanAfter(h, b) {
    var lo = 0, hi = h.nspans, u = h.unit;
    while (lo < hi) { var mid = (lo + hi) >> 1; if ((h.off[mid] + h.len[mid]) * u <= b) lo = mid + 1; else hi = mid; }
    return lo;
  }
  function spanAt(h, b) {
    if (b < 0 || b >= h.size) return -1;
    var i = firstSpanAfter(h, b);
    return i < h.nspans && h.off[i] * h.unit <= b ? i : -1;
  }

  var drawnArenas = {}, drawnHeaps = 0, drawnMmapped = 0, outlines = 0;
  function drawHeap(r) {
    var h = r.heap, pw = plotWidth(), u = h.unit;
    var acc = new Float64Array(pw * NS);
    var viewEnd = start + pw * bpp;
    var painted = false;
    for (var i = firstSpanAfter(h, Math.max(0, start)); i < h.nspans; i++) {
      var b0 = h.off[i] * u, b1 = b0 + h.len[i] * u;
      if (b0 >= viewEnd) break;
      var x0 = (b0 - start) / bpp, x1 = (b1 - start) / bpp;
      if (x1 <= 0) continue;
      if (x0 < 0) x0 = 0;
      if (x1 > pw) x1 = pw;
      var s = h.st[i];
      for (var c = Math.floor(x0); c < x1; c++) {
        var ov = Math.min(x1, c + 1) - Math.max(x0, c);
        if (ov > 0) acc[c * NS + s] += ov;
      }
    }
    var top = r.y + 12;
    ctx.fillStyle = "#888";
    ctx.font = "11px ui-monospace,monospace";
    ctx.fillText(h.mm ? "mmapped chunk " + h.begin + "  " + human(h.size)
                      : (h.label ? "range " : "heap ") + h.index + "  " + h.begin + "  " + human(h.size) + "  " + h.chunks + " " + UNIT + "s", LM, r.y + 9);
    for (var c2 = 0; c2 < pw; c2++) {
      var tot = 0, best = 0, bestv = 0;
      for (var k = 0; k < NS; k++) { var v = acc[c2 * NS + k]; tot += v; if (v > bestv) { bestv = v; best = k; } }
      if (tot <= 0) continue;
      painted = true;
      var x = LM + c2;
      if (bestv >= 0.98 * tot) {
        ctx.fillStyle = color[best]; ctx.fillRect(x, top, 1, BAR * Math.min(1, tot + 0.0001));
      } else {
        // A stacked column: each state's share of the pixel's bytes.
        var yy = top;
        for (var k2 = 0; k2 < NS; k2++) {
          var v2 = acc[c2 * NS + k2];
          if (v2 <= 0) continue;
          var hgt = BAR * v2 / tot;
          ctx.fillStyle = color[k2]; ctx.fillRect(x, yy, 1, hgt); yy += hgt;
        }
      }
    }
    // The heap's outline, to scale.
    var ex0 = LM + Math.max(0, -start / bpp), ex1 = LM + Math.min(pw, (h.size - start) / bpp);
    if (ex1 > ex0) { ctx.strokeStyle = "#0003"; ctx.strokeRect(ex0 + 0.5, top - 0.5, ex1 - ex0, BAR + 1); }
    if (painted) { if (h.mm) drawnMmapped++; else { drawnArenas[h.arena] = true; drawnHeaps++; } }
    drawOutlines(h, top, pw, viewEnd);
  }

  // Zoomed in far enough (3 px a chunk or more), every chunk in view gets
  // its outline, and its size once there is room to write it.
  function lowerBound(arr, v) {
    var lo = 0, hi = arr.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (arr[mid] < v) lo = mid + 1; else hi = mid; }
    return lo;
  }
  function drawOutlines(h, top, pw, viewEnd) {
    if (!h.bd) return;
    var first = Math.max(0, lowerBound(h.bd, Math.floor(Math.max(0, start) / 16)) - 1);
    var last = lowerBound(h.bd, Math.ceil(Math.min(h.size, viewEnd) / 16));
    if (last - first > pw / 3) return;
    ctx.font = "10px ui-monospace,monospace";
    for (var i = first; i < last; i++) {
      var b0 = h.bd[i] * 16, b1 = i + 1 < h.bd.length ? h.bd[i + 1] * 16 : h.size;
      var x0 = LM + (b0 - start) / bpp, x1 = LM + (b1 - start) / bpp;
      if (x1 < LM || x0 > LM + pw || x1 - x0 < 3) continue;
      var cx0 = Math.max(LM, x0), cx1 = Math.min(LM + pw, x1);
      ctx.strokeStyle = "#000b"; ctx.lineWidth = 1;
      ctx.strokeRect(cx0 + 0.5, top + 0.5, Math.max(1, cx1 - cx0 - 1), BAR - 1);
      outlines++;
      if (cx1 - cx0 >= 48) {
        var label = hex(b1 - b0);
        if (h.fw && cx1 - cx0 >= 200) label += "  " + firstBytes(h, i);
        ctx.fillStyle = "#111"; ctx.fillText(label, cx0 + 3, top + BAR / 2 + 3);
      }
    }
  }

  // The chunk's first 8 data bytes, hex.
  function firstBytes(h, i) {
    var out = [];
    for (var k = 0; k < 8; k++) { var v = h.fw[8 * i + k]; out.push((v < 16 ? "0" : "") + v.toString(16)); }
    return out.join(" ");
  }

  // Marks by row, in address order: a redraw visits only those in view,
  // and at most one a pixel column.
  var marksByRow = new Map();
  marks.forEach(function (k) {
    if (!k.row) return;
    if (!marksByRow.has(k.row)) marksByRow.set(k.row, []);
    marksByRow.get(k.row).push(k);
  });
  marksByRow.forEach(function (list) { list.sort(function (p, q) { return p.off - q.off; }); });
  function drawMarks() {
    var pw = plotWidth();
    marksByRow.forEach(function (list) {
      var lo = 0, hi = list.length;
      while (lo < hi) { var mid = (lo + hi) >> 1; if (list[mid].off + list[mid].size < start) lo = mid + 1; else hi = mid; }
      var lastX = -1;
      for (var i = lo; i < list.length; i++) {
        var k = list[i];
        var x0 = LM + (k.off - start) / bpp;
        if (x0 > LM + pw) break;
        if (Math.floor(x0) === lastX && k !== selected) continue;
        lastX = Math.floor(x0);
        drawMark(k, pw);
      }
    });
  }
  function drawMark(k, pw) {
    {
      var x0 = LM + (k.off - start) / bpp, x1 = LM + (k.off + Math.max(k.size, 1) - start) / bpp;
      if (x1 < LM || x0 > LM + pw) return;
      var top = k.row.y + 12, c = MARK_COLOR[k.m.kind] || "#d62728", xm = Math.max(LM, Math.min(LM + pw, x0));
      ctx.fillStyle = c;
      ctx.beginPath(); ctx.moveTo(xm, top + BAR); ctx.lineTo(xm - 4, top + BAR + 5); ctx.lineTo(xm + 4, top + BAR + 5); ctx.fill();
      if (x1 - x0 >= 3 || k === selected) {
        ctx.strokeStyle = c; ctx.lineWidth = k === selected ? 3 : 1.5;
        ctx.strokeRect(Math.max(LM, x0), top - 1, Math.max(2, Math.min(LM + pw, x1) - Math.max(LM, x0)), BAR + 2);
        ctx.lineWidth = 1;
      }
    }
  }

  function draw() {
    ctx.clearRect(0, 0, W, totalHeight);
    drawnArenas = {}; drawnHeaps = 0; drawnMmapped = 0; outlines = 0;
    rows.forEach(function (r) {
      if (r.kind === "mmhead") {
        ctx.fillStyle = "#222"; ctx.font = "bold 13px system-ui,sans-serif";
        ctx.fillText("mmapped chunks: " + D.mmapped.chunks + " (" + human(D.mmapped.bytes) + "), each its own mapping" +
                     (D.mmapped.chunks > mmHeaps.length ? "; the first " + mmHeaps.length + " drawn" : ""), LM, r.y + 15);
      } else if (r.kind === "arena") {
        var a = arenaByIndex[r.arena] || { index: r.arena };
        ctx.fillStyle = "#222"; ctx.font = "bold 13px system-ui,sans-serif";
        var t = ownerName(a) + "  " + (a.address || "");
        if (a.frag) t += "   free " + human(a.frag.free_bytes) + ", external fragmentation " + pct(a.frag.external_fragmentation) +
                         (a.frag.trim_bytes !== undefined ? ", malloc_trim(0) would release " + human(a.frag.trim_bytes) : "");
        ctx.fillText(t, LM, r.y + 15);
      } else {
        drawHeap(r);
      }
    });
    document.getElementById("scale").textContent = "1 px = " + human(Math.max(1, Math.round(bpp))) + (bpp < 1 ? " (" + (1 / bpp).toFixed(1) + " px/byte)" : "") +
      (D.granularity ? "; spans aggregated into " + human(D.granularity) + " cells" : "");
    drawMarks();
    var n = Object.keys(drawnArenas).length;
    document.body.setAttribute("data-arenas-drawn", String(n));
    document.body.setAttribute("data-heaps-drawn", String(drawnHeaps));
    document.body.setAttribute("data-mmapped-drawn", String(drawnMmapped));
    document.body.setAttribute("data-outlines", String(outlines));
  }

  function rowAt(py) {
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      if (r.kind === "heap" && py >= r.y + 10 && py < r.y + 12 + BAR + 2) return r;
    }
    return null;
  }

  function tooltipFor(px, py) {
    var r = rowAt(py);
    if (!r) return null;
    var h = r.heap, b = start + (px - LM) * bpp;
    var i = spanAt(h, Math.floor(b));
    if (i < 0) return null;
    var u = h.unit, addr = h.base + h.off[i] * u, size = h.len[i] * u, st = h.st[i];
    var lines = [rowName(h)];
    if (h.bd && !D.granularity) {
      // The chunk itself, when the page knows the chunk boundaries.
      var ci = Math.max(0, lowerBound(h.bd, Math.floor(b / 16) + 1) - 1);
      var c0 = h.bd[ci] * 16, c1 = ci + 1 < h.bd.length ? h.bd[ci + 1] * 16 : h.size;
      if (h.cnt[i] !== 1) lines.push(UNIT + " " + hex(h.base + c0) + "  size " + (c1 - c0) + " (" + human(c1 - c0) + ")");
      if (h.fw) lines.push("data " + firstBytes(h, ci));
    }
    if (h.cnt[i] === 1 && !D.granularity) {
      lines.push(UNIT + " " + hex(addr) + "  size " + size + " (" + human(size) + ")");
      lines.push("state " + name[st]);
    } else {
      lines.push(hex(addr) + " - " + hex(addr + size) + "  " + human(size));
      lines.push("state " + name[st] + (D.granularity ? " (dominant in each " + human(D.granularity) + " cell)" : ""));
      lines.push(h.cnt[i] + " " + UNIT + (h.cnt[i] === 1 ? "" : "s") + " start here");
    }
    if (bpp > size) lines.push("1 px = " + human(Math.round(bpp)) + ": zoom in for detail");
    return lines.join("\n");
  }

  function showTip(clientX, clientY) {
    var rect = cv.getBoundingClientRect();
    var t = tooltipFor(clientX - rect.left, clientY - rect.top);
    if (!t) { tip.style.display = "none"; return false; }
    tip.textContent = t;
    tip.style.display = "block";
    tip.style.left = Math.min(clientX + 14, window.innerWidth - 360) + "px";
    tip.style.top = (clientY + 14) + "px";
    return true;
  }

  var drag = null;
  cv.addEventListener("mousedown", function (e) { drag = { x: e.clientX, start: start }; cv.style.cursor = "grabbing"; });
  window.addEventListener("mouseup", function () { drag = null; cv.style.cursor = "grab"; });
  cv.addEventListener("mousemove", function (e) {
    if (drag && e.buttons) { start = drag.start - (e.clientX - drag.x) * bpp; clamp(); draw(); tip.style.display = "none"; return; }
    showTip(e.clientX, e.clientY);
  });
  cv.addEventListener("mouseleave", function () { tip.style.display = "none"; });
  function clamp() {
    var pw = plotWidth();
    bpp = Math.min(Math.max(bpp, 1 / 64), bppFit * 4);
    start = Math.min(Math.max(start, -pw * bpp * 0.5), maxSize - pw * bpp * 0.5);
  }
  function zoomAt(px, factor) {
    var b = start + (px - LM) * bpp;
    bpp *= factor; start = b - (px - LM) * bpp; clamp(); draw();
  }
  cv.addEventListener("wheel", function (e) {
    e.preventDefault();
    var rect = cv.getBoundingClientRect();
    zoomAt(e.clientX - rect.left, e.deltaY > 0 ? 1.25 : 0.8);
  }, { passive: false });
  cv.addEventListener("dblclick", function (e) { var rect = cv.getBoundingClientRect(); zoomAt(e.clientX - rect.left, e.shiftKey ? 2 : 0.5); });
  document.getElementById("zin").onclick = function () { zoomAt(LM + plotWidth() / 2, 0.5); };
  document.getElementById("zout").onclick = function () { zoomAt(LM + plotWidth() / 2, 2); };
  document.getElementById("reset").onclick = function () { fit(); draw(); };
  window.addEventListener("keydown", function (e) {
    var pw = plotWidth();
    if (e.key === "+" || e.key === "=") zoomAt(LM + pw / 2, 0.5);
    else if (e.key === "-") zoomAt(LM + pw / 2, 2);
    else if (e.key === "0") { fit(); draw(); }
    else if (e.key === "ArrowLeft") { start -= pw * bpp / 4; clamp(); draw(); }
    else if (e.key === "ArrowRight") { start += pw * bpp / 4; clamp(); draw(); }
  });
  window.addEventListener("resize", function () { var keep = bpp / bppFit; resize(); bppFit = maxSize / plotWidth(); bpp = bppFit * keep; clamp(); draw(); });

  // Legend and the frag figures beside the map.
  var lg = document.getElementById("legend");
  D.legend.forEach(function (l) {
    var s = document.createElement("span");
    var sw = document.createElement("span"); sw.className = "sw"; sw.style.background = l.color;
    s.appendChild(sw); s.appendChild(document.createTextNode(l.name)); lg.appendChild(s);
  });
  document.getElementById("title").textContent = "heap map: " + D.title +
    (D.allocator ? " (" + D.allocator + " " + D.version + ", " + D.blocks + " blocks)" : " (glibc " + D.glibc_version + ")");

  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }
  function histo(parent, hist, cls) {
    var t = el("table"), max = 1;
    hist.forEach(function (b) { max = Math.max(max, b.chunks); });
    hist.forEach(function (b) {
      var tr = el("tr");
      tr.appendChild(el("td", human(b.from) + "+", "n"));
      tr.appendChild(el("td", String(b.chunks), "n"));
      var td = el("td"), bar = el("span", undefined, "hb" + (cls ? " " + cls : ""));
      bar.style.width = Math.max(1, Math.round(110 * b.chunks / max)) + "px"; td.appendChild(bar); tr.appendChild(td);
      t.appendChild(tr);
    });
    parent.appendChild(t);
  }
  function figures(parent, heading, f) {
    parent.appendChild(el("h3", heading));
    var t = el("table");
    function row(k, v) { var tr = el("tr"); tr.appendChild(el("td", k)); tr.appendChild(el("td", v, "n")); t.appendChild(tr); }
    (D.free_classes || ["tcache", "fast", "unsorted", "small", "large", "top"]).forEach(function (c) {
      var x = f.free[c]; row(c, x.chunks + " / " + human(x.bytes));
    });
    row("free total", human(f.free_bytes));
    row("largest free", human(f.largest_free));
    row("external frag.", pct(f.external_fragmentation));
    if (f.trim_bytes !== undefined) row("malloc_trim(0)", human(f.trim_bytes));
    parent.appendChild(t);
    if (f.free_hist.length) { parent.appendChild(el("div", "free " + UNIT + " sizes", "muted")); histo(parent, f.free_hist); }
    if (f.in_use_hist.length) { parent.appendChild(el("div", "in-use " + UNIT + " sizes", "muted")); histo(parent, f.in_use_hist, "hu"); }
  }
  var side = document.getElementById("side");
  side.appendChild(el("div", "Drag to pan, wheel or +/- to zoom, 0 to reset; hover for a " + UNIT + "; click a problem or a leak to go to it.", "muted"));
  D.arenas.forEach(function (a) { if (a.frag) figures(side, ownerName(a), a.frag); });
  if (D.arenas.length > 1) figures(side, D.allocator ? "all owners" : "all arenas", D.total);
  if (D.mmapped.chunks) side.appendChild(el("p", "mmapped chunks: " + D.mmapped.chunks + " (" + human(D.mmapped.bytes) + "), outside the arenas"));
  if (D.findings) side.appendChild(el("p", D.findings + " anomalies found in the heap (see heap check)"));

  // Problems and leaks, each a link that brings its chunk into view.
  function jumpTo(k) {
    if (!k.row) return;
    var pw = plotWidth(), size = Math.max(k.size, 16);
    bpp = Math.max(1 / 64, size * 4 / pw);
    start = k.off + size / 2 - pw * bpp / 2;
    clamp();
    selected = k;
    view.scrollTop = Math.max(0, k.row.y - view.clientHeight / 3);
    draw();
  }
  function markList(heading, kinds) {
    var chosen = marks.filter(function (k) { return kinds.indexOf(k.m.kind) >= 0; });
    if (!chosen.length) return;
    side.appendChild(el("h3", heading + " (" + chosen.length + ")"));
    chosen.slice(0, 500).forEach(function (k) {
      var d = el("div", undefined, "mk");
      var sw = el("span", undefined, "sw"); sw.style.background = MARK_COLOR[k.m.kind];
      d.appendChild(sw); d.appendChild(document.createTextNode(k.m.address + "  " + k.m.label));
      d.title = k.m.address + "  " + k.m.label;
      d.setAttribute("data-mark", k.m.kind);
      d.onclick = function () { jumpTo(k); };
      side.appendChild(d);
    });
    if (chosen.length > 500) side.appendChild(el("div", "... " + (chosen.length - 500) + " more", "muted"));
  }
  markList("heap problems", ["finding"]);
  markList("leaks", ["direct", "indirect", "possible"]);
  if (D.marks_total > D.marks.length) side.appendChild(el("div", (D.marks_total - D.marks.length) + " more not listed", "muted"));
  document.body.setAttribute("data-marks", String(marks.length));

  resize(); fit(); draw();
  document.body.setAttribute("data-load-ms", String(Math.round(performance.now())));

  // Self-test: hover the middle of the first in-use span of the first heap.
  var result = "ok";
  try {
    var r0 = null;
    for (var i = 0; i < rows.length; i++) if (rows[i].kind === "heap") { r0 = rows[i]; break; }
    if (!r0) throw new Error("no heap drawn");
    var h0 = r0.heap, pick = 0;
    for (var j = 0; j < h0.nspans; j++) if (h0.st[j] === 0) { pick = j; break; }
    var mid = (h0.off[pick] + h0.len[pick] / 2) * h0.unit;
    var px = Math.min(LM + plotWidth() - 1, Math.max(LM, LM + (mid - start) / bpp));
    var rect = cv.getBoundingClientRect();
    var ev = new MouseEvent("mousemove", { clientX: rect.left + px, clientY: rect.top + r0.y + 12 + BAR / 2, bubbles: true });
    cv.dispatchEvent(ev);
    var text = tip.textContent || "";
    if (tip.style.display !== "block") throw new Error("tooltip not shown");
    if (text.indexOf(rowName(h0)) < 0) throw new Error("tooltip names the wrong heap: " + text);
    var m = /0x[0-9a-f]+/.exec(text);
    if (!m) throw new Error("tooltip has no address");
    var a = parseInt(m[0], 16);
    if (a < h0.base || a >= h0.base + h0.size) throw new Error("tooltip address outside the heap");
    document.body.setAttribute("data-tooltip", text.replace(/\n/g, " | "));
  } catch (e) {
    result = "fail: " + e.message;
  }
  // A listed mark, clicked, must come into view with its chunk outlined.
  try {
    var link = document.querySelector(".mk");
    if (link) {
      link.onclick();
      var k = selected;
      if (!k) throw new Error("no mark selected");
      var kx = LM + (k.off - start) / bpp;
      if (kx < LM || kx > LM + plotWidth()) throw new Error("mark out of view after the jump");
      document.body.setAttribute("data-jump", "ok " + k.m.kind + " " + k.m.address + " outlines " + outlines);
      // At this zoom the chunk's label carries its first bytes: show them as the tooltip does.
      var kh = k.row.heap;
      if (kh.fw) {
        var ki = Math.max(0, lowerBound(kh.bd, Math.floor(k.off / 16) + 1) - 1);
        document.body.setAttribute("data-jump-bytes", firstBytes(kh, ki));
      }
    }
  } catch (e) {
    result = "fail: " + e.message;
  }
  // Panning at 8x zoom: the time of one redraw.
  fit(); bpp = bppFit / 8; clamp();
  var t0 = performance.now(), steps = 20;
  for (var s2 = 0; s2 < steps; s2++) { start += plotWidth() * bpp / 10; clamp(); draw(); }
  document.body.setAttribute("data-pan-ms", ((performance.now() - t0) / steps).toFixed(1));
  selected = null; fit(); draw();
  document.body.setAttribute("data-selftest", result);
  if (location.hash.indexOf("keep-tooltip") < 0) tip.style.display = "none";
})();
</script>
</body>
</html>
)HSMAP";

}  // namespace

std::string_view map_html_template() { return kTemplate; }

}  // namespace heapscope
