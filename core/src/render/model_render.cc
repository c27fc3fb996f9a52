#include "render/model_render.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "render/format.h"

namespace heapscope {

using json = nlohmann::ordered_json;

namespace {

// The generic states a total is told in; mapped blocks count as in use.
constexpr BlockState kTotalStates[] = {BlockState::kInUse, BlockState::kCached, BlockState::kFree,
                                       BlockState::kTop, BlockState::kMetadata, BlockState::kUnknown};

Tally state_total(const ModelStats& s, BlockState st) {
  Tally t = s.state(st);
  if (st == BlockState::kInUse) t.add(s.state(BlockState::kMapped));
  return t;
}

json tally_json(const Tally& t) { return json{{"chunks", t.chunks}, {"bytes", t.bytes}}; }

json kinds_json(const ModelStats& s, const std::vector<Tally>& by_kind) {
  json j = json::object();
  for (size_t k = 0; k < by_kind.size(); ++k) j[std::string(s.kind_names[k])] = tally_json(by_kind[k]);
  return j;
}

std::string tally_row(std::string_view name, const Tally& t) {
  return fmt::format("  {:<14} {:>10} {:>14}  {}\n", name, t.chunks, t.bytes, t.bytes >= 1024 ? human_size(t.bytes) : "");
}

std::string kinds_block(const ModelStats& s, const std::vector<Tally>& by_kind) {
  std::string out = fmt::format("  {:<14} {:>10} {:>14}\n", "class", "chunks", "bytes");
  for (size_t k = 0; k < by_kind.size(); ++k) out += tally_row(s.kind_names[k], by_kind[k]);
  return out;
}

bool any(const std::vector<Tally>& by_kind) {
  for (const Tally& t : by_kind)
    if (t.chunks) return true;
  return false;
}

}  // namespace

std::string model_stats_text(const ModelStats& s) {
  std::string out = fmt::format("{} {}: {} owner{}, system bytes {}\n", s.allocator, s.version, s.owners.size(),
                                s.owners.size() == 1 ? "" : "s", bytes_with_human(s.system_bytes));
  for (const OwnerStats& o : s.owners) {
    out += fmt::format("\n{} at {}: system bytes {}\n", o.label, to_hex(o.address), bytes_with_human(o.system_bytes));
    out += kinds_block(s, o.by_kind);
  }
  if (any(s.unowned.by_kind)) {
    out += fmt::format("\n{}:\n", s.unowned.label);
    out += kinds_block(s, s.unowned.by_kind);
  }
  if (s.owners.size() > 1) {
    out += fmt::format("\nall owners: system bytes {}\n", bytes_with_human(s.system_bytes));
    out += kinds_block(s, s.by_kind);
  }
  out += "\ntotal by state:\n";
  for (BlockState st : kTotalStates) out += tally_row(block_state_name(st), state_total(s, st));
  return out;
}

std::string model_stats_json(const ModelStats& s) {
  json owners = json::array();
  for (const OwnerStats& o : s.owners)
    owners.push_back({{"label", o.label},
                      {"address", to_hex(o.address)},
                      {"system_bytes", o.system_bytes},
                      {"kinds", kinds_json(s, o.by_kind)}});
  json total{{"system_bytes", s.system_bytes}};
  for (BlockState st : kTotalStates) total[std::string(block_state_name(st))] = tally_json(state_total(s, st));
  total["kinds"] = kinds_json(s, s.by_kind);
  json doc{{"allocator", s.allocator}, {"version", s.version}, {"owners", std::move(owners)},
           {"unowned", kinds_json(s, s.unowned.by_kind)}, {"total", std::move(total)}, {"findings", s.findings}};
  return doc.dump() + "\n";
}

}  // namespace heapscope
