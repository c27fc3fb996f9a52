// `heap chunk ADDR` on any allocator but glibc (whose chunks have header
// fields and free lists of their own: heap_commands.cc), and the --dump
// option both share.
#include <fmt/format.h>

#include <algorithm>
#include <span>

#include "commands/recorded_sites.h"
#include "commands/registry.h"
#include "heapscope/analysis/types.h"
#include "render/block_render.h"

namespace heapscope {

std::optional<std::vector<unsigned char>> dump_option(CommandContext& ctx, Address data, Address end) {
  auto n = ctx.args.get("--dump");
  if (!n) return std::nullopt;
  constexpr uint64_t kDumpDefault = 256;
  const uint64_t room = end > data ? end - data : 0;
  const uint64_t want = n->empty() ? std::min(room, kDumpDefault) : std::min(room, parse_uint(*n, "--dump"));
  std::vector<unsigned char> bytes(want);
  bytes.resize(ctx.session.target().read(data, std::as_writable_bytes(std::span(bytes))));
  return bytes;
}

namespace {

// The blocks just below and just above `a` (which is in none), when `a`
// lies among the model's blocks in memory no file backs (unmapped, or
// anonymous like the allocator's own): a stray pointer near the heap. In a
// module's mapping they would say nothing about it.
std::pair<const Block*, const Block*> neighbours(const HeapModel& m, Address a, const Region* region) {
  if (region && !region->path.empty() && !region->path.starts_with("[")) return {};
  auto it = std::upper_bound(m.blocks.begin(), m.blocks.end(), a,
                             [](Address x, const Block& b) { return x < b.address; });
  if (it == m.blocks.begin() || it == m.blocks.end()) return {};
  return {&*std::prev(it), &*it};
}

}  // namespace

std::string describe_block(CommandContext& ctx, const HeapModel& m, Address asked) {
  const Block* b = m.block_containing(asked);
  if (!b) {
    const Region* region = ctx.session.target().find_region(asked);
    auto [below, above] = neighbours(m, asked, region);
    throw UserError{not_in_block_line(m, asked, region, below, above)};
  }
  BlockView view{m, *b, asked, std::nullopt, {}, dump_option(ctx, m.user_begin(*b), b->end())};
  if (m.is_live(*b)) view.type = TypeNamer(ctx.session.target(), ctx.session.symbols(), m).type_of(*b);
  // The recorder's backtrace, or MeMS's own site and sequence number.
  view.allocation = chunk_allocation(ctx, m.user_begin(*b), m.is_live(*b));
  for (const auto& f : m.findings)
    if (f.address >= b->address && f.address < b->end()) view.findings.push_back(&f);
  return ctx.args.json() ? block_json(view) : block_text(view);
}

}  // namespace heapscope
