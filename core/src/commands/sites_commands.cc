// `heap sites` and `heap flamegraph`: live (or leaked) memory by allocation
// stack, from the tables libheapscope-record kept in the target (recorder/)
// or the allocator's own records (MeMS): recorded_sites.h chooses.
// `heap leaks --by-site` shares the grouping (site_listing).
#include <fmt/format.h>

#include <fstream>

#include "commands/recorded_sites.h"
#include "commands/registry.h"
#include "commands/site_listing.h"
#include "heapscope/analysis/leaks.h"
#include "heapscope/model/heap_model.h"
#include "heapscope/sites/site_tree.h"

namespace heapscope {
namespace {

constexpr size_t kTextSites = 20;
constexpr size_t kTextChildren = 10;

const OptionSpec kStateOption{"--state", "S", "in_use (default): every live allocation; leaked: those heap leaks finds",
                              ValueKind::kChoice, {"in_use", "leaked"}};

bool leaked_state(const CommandContext& ctx) { return ctx.args.get("--state").value_or("in_use") == "leaked"; }

SiteTreeListing tree_listing(CommandContext& ctx, const sites::RecordTables& tables, const sites::SiteTree& tree,
                             bool leaked) {
  SiteTreeListing l{tables, tree, {}, ctx.args.get_uint("--limit").value_or(kTextChildren), leaked};
  sites::FrameSymbols symbols(ctx.session.symbols());
  l.frames.reserve(tree.nodes.size());
  for (const auto& n : tree.nodes) {
    check_cancel(ctx.cancel);
    l.frames.push_back({n.frame, n.frame.is_null() ? std::nullopt : symbols.at(n.frame)});
  }
  return l;
}

void run_sites(CommandContext& ctx) {
  auto by = ctx.args.get("--by").value_or("bytes");
  if (by != "bytes" && by != "count") throw UserError{fmt::format("--by takes bytes or count, not '{}'", by)};
  const bool leaked = leaked_state(ctx);
  auto source = required_sites(ctx);
  auto groups = group_sites(ctx, source, leaked, by == "count" ? sites::SiteOrder::kCount : sites::SiteOrder::kBytes);
  if (ctx.args.has("--tree")) {
    auto tree = sites::build_site_tree(source.tables, groups);
    auto l = tree_listing(ctx, source.tables, tree, leaked);
    if (ctx.args.json()) site_tree_json(ctx.out, l);
    else site_tree_text(ctx.out, l);
    return;
  }
  write_site_listing(ctx, source, groups, by == "count", leaked, kTextSites);
}

void run_flamegraph(CommandContext& ctx) {
  const bool leaked = leaked_state(ctx);
  auto html = ctx.args.get("--html");
  if (!html || html->empty()) throw UserError{"heap flamegraph writes a page: give it --html FILE"};
  const std::string path = *html;
  auto source = required_sites(ctx);
  auto groups = group_sites(ctx, source, leaked, sites::SiteOrder::kBytes);
  auto tree = sites::build_site_tree(source.tables, groups);
  auto l = tree_listing(ctx, source.tables, tree, leaked);
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) throw UserError{fmt::format("cannot write {}", path)};
  StringSink page;
  {
    OutputWriter w(page);
    flamegraph_html(w, l);
    w.flush();
  }
  file << page.text();
  if (!file.flush()) throw UserError{fmt::format("cannot write {}", path)};
  const auto& root = tree.nodes[0];
  if (ctx.args.json()) {
    nlohmann::ordered_json j{{"html", path}, {"state", leaked ? "leaked" : "in_use"}, {"bytes", root.bytes},
                             {"count", root.count}, {"frames", tree.nodes.size() - 1}};
    ctx.out.write(j.dump() + "\n");
  } else {
    ctx.out.print("wrote {}: flame graph of {} {} allocation{} ({} bytes) in {} frames\n", path, root.count,
                  leaked ? "leaked" : "live", root.count == 1 ? "" : "s", root.bytes, tree.nodes.size() - 1);
  }
}

}  // namespace

void add_sites_commands(std::vector<CommandSpec>& t) {
  t.push_back({"heap", "sites", "Show live memory by allocation stack (libheapscope-record's, or MeMS's own)",
               "heap sites [--by bytes|count] [--state in_use|leaked] [--limit N] [--tree] [--allocator NAME] [--json]",
               "Reads the tables libheapscope-record.so keeps in a program it is preloaded into\n"
               "(LD_PRELOAD) or linked with: for each live allocation, the stack that made it.\n"
               "Sites are unique stacks; bytes are the sizes of their in-use chunks, headers\n"
               "included. Frames are return addresses, named with the line of the call.\n"
               "--tree: the same bytes as a call tree, outermost frame first (memray's tree).\n"
               "--allocator mems: the sites MeMS keeps itself, one frame per PROCESS segment\n"
               "(pool blocks keep none); --state leaked is then mems leaks' classes.",
               {{"--by", "bytes|count", "order sites by bytes (default) or by allocations", ValueKind::kChoice,
                 {"bytes", "count"}},
                kStateOption,
                {"--limit", "N", "print at most N sites (text: 20, JSON: all); --tree: N callees per frame (10)",
                 ValueKind::kNumber},
                {"--tree", "", "print a call tree of bytes by frame instead of the table"}, kAllocatorOption},
               0, 0, run_sites});
  t.push_back({"heap", "flamegraph", "Write a flame graph of live (or leaked) bytes by allocation stack",
               "heap flamegraph --html FILE [--state in_use|leaked] [--allocator NAME] [--json]",
               "One self-contained HTML page (no network): each allocation stack a tower of frames,\n"
               "outermost at the bottom, widths in bytes; hover for figures, click to zoom.\n"
               "Needs libheapscope-record in the target (or --allocator mems), as heap sites does.",
               {{"--html", "FILE", "the page to write", ValueKind::kFile}, kStateOption, kAllocatorOption},
               0, 0, run_flamegraph});
}

}  // namespace heapscope
