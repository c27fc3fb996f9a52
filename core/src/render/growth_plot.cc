// The samples go into the page as JSON; an inline script (no network, no
// library) draws them as SVG polylines: a colour per owner, a dash per figure.
#include "render/growth_plot.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "render/html_embed.h"

namespace heapscope {
namespace {

using json = nlohmann::ordered_json;

constexpr const char* kPageHead = R"(<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>heapscope heap growth</title>
<style>
body{font:13px sans-serif;margin:16px;background:#fff;color:#222}
h3{margin:0 0 8px 0;font-weight:normal}
#plot text{font-size:12px;fill:#333}
#plot .grid{stroke:#e4e4e4}
#plot .axis{stroke:#333}
#plot .line{fill:none;stroke-width:1.8}
#legend{margin-top:6px;columns:3;font-size:12px}
#legend div{white-space:nowrap}
#legend svg{vertical-align:middle;margin-right:4px}
#info{height:18px;margin:4px 0;font-family:monospace}
</style></head><body>
)";

constexpr const char* kScript = R"(
(function () {
  const data = JSON.parse(document.getElementById('growth-data').textContent);
  const svg = document.getElementById('plot'), legend = document.getElementById('legend');
  const NS = svg.namespaceURI;
  const info = document.getElementById('info');
  const W = 1100, H = 480, left = 80, right = 20, top = 14, bottom = 44;
  const t = data.t;
  const figures = [['in_use', 'in use', ''], ['free', 'free', '6 4'], ['system', 'system', '2 3']];
  const colours = ['#000000', '#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];
  function el(name, attrs, parent) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    (parent || svg).appendChild(e);
    return e;
  }
  function unitFor(max) {
    const u = [['B', 1], ['KiB', 1024], ['MiB', 1048576], ['GiB', 1073741824], ['TiB', 1099511627776]];
    let i = 0;
    while (i + 1 < u.length && max >= u[i + 1][1]) i++;
    return u[i];
  }
  // A tick step of 1, 2 or 5 times a power of ten giving about `n` ticks.
  function niceStep(range, n) {
    const raw = range / n, p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
    return 10 * p;
  }
  let maxBytes = 0;
  data.series.forEach(s => figures.forEach(f => s[f[0]].forEach(v => { if (v !== null && v > maxBytes) maxBytes = v; })));
  const tMax = t.length ? Math.max(t[t.length - 1], 1e-9) : 1;
  const unit = unitFor(maxBytes);
  const yStep = niceStep(Math.max(maxBytes / unit[1], 1e-9), 6) * unit[1];
  const yMax = Math.max(yStep, Math.ceil(maxBytes / yStep) * yStep);
  const xStep = niceStep(tMax, 10);
  const xMax = Math.max(xStep, Math.ceil(tMax / xStep - 1e-9) * xStep);
  const px = v => left + (W - left - right) * v / xMax;
  const py = v => H - bottom - (H - top - bottom) * v / yMax;
  function label(v, digits) { return (Math.round(v * 1000) / 1000).toFixed(digits); }
  const yDigits = yStep / unit[1] < 1 ? 2 : (yStep / unit[1] % 1 ? 1 : 0);
  for (let v = 0; v <= yMax + yStep / 2; v += yStep) {
    el('line', {class: 'grid', x1: left, x2: W - right, y1: py(v), y2: py(v)});
    el('text', {x: left - 6, y: py(v) + 4, 'text-anchor': 'end'}).textContent = label(v / unit[1], yDigits);
  }
  const xDigits = xStep < 1 ? (xStep < 0.1 ? 2 : 1) : 0;
  for (let v = 0; v <= xMax + xStep / 2; v += xStep) {
    el('line', {class: 'grid', x1: px(v), x2: px(v), y1: top, y2: H - bottom});
    el('text', {x: px(v), y: H - bottom + 16, 'text-anchor': 'middle'}).textContent = label(v, xDigits);
  }
  el('line', {class: 'axis', x1: left, x2: left, y1: top, y2: H - bottom});
  el('line', {class: 'axis', x1: left, x2: W - right, y1: H - bottom, y2: H - bottom});
  el('text', {x: (left + W - right) / 2, y: H - 6, 'text-anchor': 'middle'}).textContent = 'time (seconds)';
  el('text', {x: 14, y: (top + H - bottom) / 2, 'text-anchor': 'middle',
              transform: 'rotate(-90 14 ' + (top + H - bottom) / 2 + ')'}).textContent = 'memory (' + unit[0] + ')';
  function human(b) {
    const u = unitFor(b);
    return b + ' bytes' + (u[1] > 1 ? ' (' + (b / u[1]).toFixed(1) + ' ' + u[0] + ')' : '');
  }
  let drawn = 0;
  data.series.forEach((s, si) => {
    const colour = colours[si % colours.length];
    figures.forEach(([key, name, dash]) => {
      const pts = [];
      s[key].forEach((v, i) => { if (v !== null) pts.push([px(t[i]), py(v), i, v]); });
      const line = el('polyline', {class: 'line', stroke: colour, points: pts.map(p => p[0].toFixed(1) + ',' + p[1].toFixed(1)).join(' ')});
      if (dash) line.setAttribute('stroke-dasharray', dash);
      line.dataset.label = s.label;
      line.dataset.figure = key;
      line.dataset.points = pts.length;
      line.dataset.values = pts.map(p => p[3]).join(',');
      pts.forEach(p => {
        const dot = el('circle', {cx: p[0].toFixed(1), cy: p[1].toFixed(1), r: 2.5, fill: colour});
        dot.addEventListener('mouseenter', () => {
          info.textContent = s.label + ' ' + name + ' at ' + t[p[2]].toFixed(3) + ' s: ' + human(p[3]);
        });
      });
      drawn++;
      const item = document.createElement('div');
      const key_svg = el('svg', {width: 34, height: 10}, item);
      const sample = el('line', {x1: 0, y1: 5, x2: 34, y2: 5, 'stroke-width': 2}, key_svg);
      sample.setAttribute('stroke', colour);
      if (dash) sample.setAttribute('stroke-dasharray', dash);
      item.appendChild(document.createTextNode(s.label + ' ' + name));
      legend.appendChild(item);
    });
  });
  document.body.dataset.linesDrawn = drawn;
  document.body.dataset.samples = t.length;
})();
)";

// One value per sample, null where the owner did not exist yet (or any more).
json column(const std::vector<HeapSample>& samples, const std::string& label,
           uint64_t (*bytes_of)(const SampleFigures&)) {
  json values = json::array();
  for (const HeapSample& s : samples) {
    const SampleFigures* f = label == s.total.label ? &s.total : nullptr;
    for (const SampleFigures& o : s.owners)
      if (!f && o.label == label) f = &o;
    values.push_back(f ? json(bytes_of(*f)) : json(nullptr));
  }
  return values;
}

}  // namespace

std::string growth_plot_html(const std::vector<HeapSample>& samples, std::string_view title) {
  // The total first, then every owner in the order it first appeared.
  std::vector<std::string> labels{"total"};
  for (const HeapSample& s : samples)
    for (const SampleFigures& o : s.owners)
      if (std::find(labels.begin(), labels.end(), o.label) == labels.end()) labels.push_back(o.label);
  json series = json::array();
  for (const std::string& label : labels)
    series.push_back(json{{"label", label},
                          {"in_use", column(samples, label, [](const SampleFigures& f) { return f.in_use.bytes; })},
                          {"free", column(samples, label, [](const SampleFigures& f) { return f.free.bytes; })},
                          {"system", column(samples, label, [](const SampleFigures& f) { return f.system_bytes; })}});
  json t = json::array();
  for (const HeapSample& s : samples) t.push_back(s.elapsed_seconds);
  std::string page = kPageHead;
  page += "<h3>heap growth of " + html_escape(title) + ": " + std::to_string(samples.size()) + " sample" +
          (samples.size() == 1 ? "" : "s") + (samples.empty() ? "" : ", allocator " + html_escape(samples[0].allocator)) +
          "</h3>\n";
  page += "<svg id=\"plot\" width=\"1100\" height=\"480\" viewBox=\"0 0 1100 480\"></svg>\n";
  page += "<div id=\"info\">hover a point for its bytes; solid: in use, dashed: free, dotted: system</div>\n";
  page += "<div id=\"legend\"></div>\n<script type=\"application/json\" id=\"growth-data\">";
  page += script_safe_json(json{{"t", std::move(t)}, {"series", std::move(series)}});
  page += "</script>\n<script>";
  page += kScript;
  page += "</script>\n</body></html>\n";
  return page;
}

}  // namespace heapscope
