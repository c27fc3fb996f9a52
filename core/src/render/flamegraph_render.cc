// heap flamegraph's page: the site tree as flat rows of frames, laid out
// by an inline script (no network, no library): a frame's width is its
// share of the focused frame's bytes, its row its depth from the bottom.
#include "render/format.h"
#include "render/html_embed.h"
#include "render/sites_render.h"

namespace heapscope {
namespace {

using json = nlohmann::ordered_json;

constexpr const char* kPageHead = R"(<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>heapscope flame graph</title>
<style>
body{font:12px sans-serif;margin:12px;background:#fff;color:#222}
#graph{position:relative;width:100%;border-top:1px solid #ccc}
.frame{position:absolute;height:17px;box-sizing:border-box;border:1px solid #fff;overflow:hidden;
white-space:nowrap;padding:1px 3px;cursor:pointer;font-size:11px}
.frame:hover{border-color:#222}
#info{height:18px;margin:6px 0;font-family:monospace}
</style></head><body>
)";

constexpr const char* kScript = R"(
(function () {
  const data = JSON.parse(document.getElementById('flame-data').textContent);
  const nodes = data.nodes, graph = document.getElementById('graph'), info = document.getElementById('info');
  const rowHeight = 18;
  let maxDepth = 0;
  nodes.forEach(n => { if (n.depth > maxDepth) maxDepth = n.depth; });
  graph.style.height = ((maxDepth + 1) * rowHeight) + 'px';
  const children = nodes.map(() => []);
  nodes.forEach((n, i) => { if (i > 0) children[n.parent].push(i); });
  function human(b) {
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0, v = b;
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return (i ? v.toFixed(1) : v) + ' ' + u[i];
  }
  function colour(n) {
    let h = 0;
    for (const c of n.name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
    return 'hsl(' + (10 + h % 40) + ',85%,' + (58 + h % 12) + '%)';
  }
  const divs = nodes.map((n, i) => {
    const d = document.createElement('div');
    d.className = 'frame';
    d.dataset.node = i;
    d.dataset.name = n.name;
    d.dataset.bytes = n.bytes;
    d.dataset.count = n.count;
    d.dataset.selfBytes = n.self_bytes;
    d.dataset.depth = n.depth;
    d.textContent = n.name;
    d.title = n.name + '\n' + n.bytes + ' bytes (' + human(n.bytes) + ') in ' + n.count + ' allocations' +
              (n.self_bytes ? ', ' + n.self_bytes + ' allocated here' : '');
    d.style.background = i ? colour(n) : '#ddd';
    d.addEventListener('mouseenter', () => { info.textContent = d.title.replace('\n', ': '); });
    d.addEventListener('click', () => layout(i));
    graph.appendChild(d);
    return d;
  });
  // Lays out the subtree of `focus` over the full width; its ancestors span
  // it too; the rest is hidden.
  function layout(focus) {
    divs.forEach(d => { d.style.display = 'none'; });
    for (let a = focus; ; a = nodes[a].parent) {
      place(a, 0, 1);
      if (a === 0) break;
    }
    (function down(i, x, w) {
      place(i, x, w);
      let at = x;
      for (const c of children[i]) {
        const cw = nodes[i].bytes ? w * nodes[c].bytes / nodes[i].bytes : 0;
        down(c, at, cw);
        at += cw;
      }
    })(focus, 0, 1);
    graph.dataset.focus = focus;
  }
  function place(i, x, w) {
    const d = divs[i];
    d.style.display = w > 0 ? 'block' : 'none';
    d.style.left = (100 * x) + '%';
    d.style.width = (100 * w) + '%';
    d.style.top = ((maxDepth - nodes[i].depth) * rowHeight) + 'px';
  }
  layout(0);
  document.body.dataset.framesDrawn = divs.filter(d => d.style.display !== 'none').length;
})();
)";

std::string node_name(const SiteTreeListing& l, uint32_t i) {
  return i == 0 ? (l.leaked ? "all leaked allocations" : "all live allocations") : frame_text(l.frames[i]);
}

}  // namespace

void flamegraph_html(OutputWriter& out, const SiteTreeListing& l) {
  json nodes = json::array();
  for (uint32_t i = 0; i < l.tree.nodes.size(); ++i) {
    const auto& n = l.tree.nodes[i];
    nodes.push_back(json{{"name", node_name(l, i)}, {"parent", n.parent}, {"depth", n.depth},
                         {"bytes", n.bytes}, {"count", n.count}, {"self_bytes", n.self_bytes}});
  }
  const auto& root = l.tree.nodes[0];
  out.write(kPageHead);
  out.print("<h3>{} {} allocation{}, {} (recorded by {})</h3>\n", root.count, l.leaked ? "leaked" : "live",
            root.count == 1 ? "" : "s", html_escape(bytes_with_human(root.bytes)),
            html_escape(recorded_by(l.tables, false)));
  out.write("<div id=\"info\">hover a frame for its bytes; click to zoom, click the bottom row to reset</div>\n");
  out.write("<div id=\"graph\"></div>\n<script type=\"application/json\" id=\"flame-data\">");
  out.write(script_safe_json(json{{"nodes", std::move(nodes)}}));
  out.write("</script>\n<script>");
  out.write(kScript);
  out.write("</script>\n</body></html>\n");
}

}  // namespace heapscope
