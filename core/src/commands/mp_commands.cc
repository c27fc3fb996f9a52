// `heap mp`: glibc's malloc parameters (the `mp_` struct), the values that
// mallopt() and GLIBC_TUNABLES set, as the program saw them at the stop.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "commands/registry.h"
#include "heapscope/glibc/heap.h"
#include "render/format.h"

namespace heapscope {

namespace {

struct Parameter {
  const char* name;
  std::optional<uint64_t> value;  // nullopt: not known here (no symbol)
  bool bytes;          // a size: shown with its human form
  const char* set_by;  // the mallopt() constant or tunable that sets it
};

// Read from the target: fields of mp_ the walk does not keep, and malloc's
// statics outside mp_ (found through libc's symbols only).
std::optional<uint64_t> mp_field(const CommandContext& ctx, const glibc::Heap& h, uint64_t offset) {
  return ctx.session.target().read_u64(h.mp.address + offset);
}
std::optional<uint64_t> libc_static(CommandContext& ctx, const glibc::Heap& h, std::string_view name, bool int_sized) {
  auto at = ctx.session.symbols().find(h.libc_module, name);
  if (!at) return std::nullopt;
  if (int_sized) {
    auto v = ctx.session.target().read_value<uint32_t>(*at);
    return v ? std::optional<uint64_t>(*v) : std::nullopt;
  }
  return ctx.session.target().read_u64(*at);
}

std::vector<Parameter> parameters(CommandContext& ctx, const glibc::Heap& h) {
  const glibc::MallocPar& mp = h.mp;
  const glibc::Layout& l = *h.layout;
  return {
      {"trim_threshold", mp.trim_threshold, true, "M_TRIM_THRESHOLD, glibc.malloc.trim_threshold"},
      {"top_pad", mp.top_pad, true, "M_TOP_PAD, glibc.malloc.top_pad"},
      {"mmap_threshold", mp.mmap_threshold, true, "M_MMAP_THRESHOLD, glibc.malloc.mmap_threshold"},
      {"n_mmaps_max", mp.n_mmaps_max, false, "M_MMAP_MAX, glibc.malloc.mmap_max"},
      {"n_mmaps", mp.n_mmaps, false, "mmapped chunks now"},
      {"mmapped_mem", mp.mmapped_mem, true, "bytes in mmapped chunks now"},
      {"tcache_bins", mp.tcache_bins, false, "glibc.malloc.tcache_max (as bins)"},
      {"tcache_count", mp.tcache_count, false, "glibc.malloc.tcache_count"},
      {"hp_pagesize", mp.hp_pagesize, true, "glibc.malloc.hugetlb (glibc 2.35+)"},
      {"arena_test", mp_field(ctx, h, l.mp_arena_test), false, "M_ARENA_TEST, glibc.malloc.arena_test"},
      {"arena_max", mp_field(ctx, h, l.mp_arena_max), false, "M_ARENA_MAX, glibc.malloc.arena_max (0: 8 per core)"},
      {"max_fast", libc_static(ctx, h, "global_max_fast", false), true, "M_MXFAST, glibc.malloc.mxfast (global_max_fast)"},
      {"perturb_byte", libc_static(ctx, h, "perturb_byte", true), false, "M_PERTURB, glibc.malloc.perturb"},
  };
}

std::string run_mp(CommandContext& ctx) {
  const auto& h = ctx.session.glibc_heap(ctx.cancel);
  const auto& mp = h.mp;
  if (!h.layout) throw UserError{"glibc's layout is not known here"};
  const auto params = parameters(ctx, h);
  if (ctx.args.json()) {
    nlohmann::ordered_json doc{{"address", to_hex(mp.address)}, {"glibc_version", h.version}};
    for (const auto& p : params) doc[p.name] = p.value ? nlohmann::ordered_json(*p.value) : nlohmann::ordered_json(nullptr);
    doc["sbrk_base"] = to_hex(mp.sbrk_base);
    doc["findings"] = heap_problems(ctx);
    return doc.dump() + "\n";
  }
  std::string out = fmt::format("mp_ at {} (glibc {})\n", to_hex(mp.address), h.version);
  for (const auto& p : params) {
    std::string value = !p.value ? std::string("(no symbol)") : p.bytes ? bytes_with_human(*p.value) : std::to_string(*p.value);
    out += fmt::format("  {:<15} {:<28} {}\n", p.name, value, p.set_by);
  }
  out += fmt::format("  {:<15} {:<28} {}\n", "sbrk_base", to_hex(mp.sbrk_base), "where the main arena's heap starts");
  return with_findings_footer(ctx, std::move(out));
}

}  // namespace

void add_mp_commands(std::vector<CommandSpec>& t) {
  t.push_back({"heap", "mp", "Show glibc's malloc parameters (mp_): thresholds, mmap and tcache limits",
               "heap mp [--json]",
               "The values mallopt() and GLIBC_TUNABLES set, read from the program's mp_ at the stop\n"
               "(mmap_threshold grows by itself when an mmapped chunk is freed, unless set).",
               {}, 0, 0, rendered_whole(run_mp)});
}

}  // namespace heapscope
