#include "render/block_render.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "render/check_render.h"
#include "render/format.h"

namespace heapscope {

using json = nlohmann::ordered_json;

namespace {

std::string owner_label(const HeapModel& m, const Block& b) {
  if (b.owner == kNoOwner || size_t(int{b.owner}) >= m.owners.size()) return "no owner";
  return m.owners[size_t(int{b.owner})].label;
}

std::string perms_text(uint8_t p) {
  return fmt::format("{}{}{}", p & kPermRead ? 'r' : '-', p & kPermWrite ? 'w' : '-', p & kPermExec ? 'x' : '-');
}

std::string region_text(const Region& r) {
  std::string what = r.path.empty() ? std::string("anonymous memory") : r.path;
  return fmt::format("{} {}-{} ({})", what, to_hex(r.range.begin), to_hex(r.range.end), perms_text(r.perms));
}

std::string block_range(const Block& b) { return fmt::format("{}-{}", to_hex(b.address), to_hex(b.end())); }

}  // namespace

std::string block_text(const BlockView& v) {
  const HeapModel& m = v.model;
  const Block& b = v.block;
  const Address data = m.user_begin(b);
  std::string out = fmt::format("{} block {}, size {}, {} ({}), {}\n", m.allocator, to_hex(b.address),
                                bytes_with_human(b.size), m.kind_of(b).name, block_state_name(m.state(b)),
                                owner_label(m, b));
  out += fmt::format("  data {}-{} ({} bytes)\n", to_hex(data), to_hex(b.end()), b.end() - data);
  if (v.asked != b.address && v.asked != data) {
    out += fmt::format("  {} is {} bytes into the block", to_hex(v.asked), v.asked - b.address);
    // Where the data starts past the block's start, say where in the data too.
    if (data != b.address && v.asked > data) out += fmt::format(" ({} into its data)", v.asked - data);
    out += "\n";
  }
  if (v.type) out += fmt::format("  type {}\n", *v.type);
  for (const Finding* f : v.findings) out += fmt::format("  problem: {}\n", model_finding_text(m, *f));
  if (v.allocation) out += chunk_allocation_text(*v.allocation);
  if (v.dump) out += dump_text(data, *v.dump);
  return out;
}

std::string block_json(const BlockView& v) {
  const HeapModel& m = v.model;
  const Block& b = v.block;
  json problems = json::array();
  for (const Finding* f : v.findings) problems.push_back(model_finding_json(m, *f));
  json doc{{"allocator", m.allocator},
           {"address", to_hex(b.address)},
           {"data", to_hex(m.user_begin(b))},
           {"end", to_hex(b.end())},
           {"asked", to_hex(v.asked)},
           {"offset", v.asked - b.address},
           {"size", uint64_t{b.size}},
           {"state", std::string(m.kind_of(b).name)},
           {"block_state", std::string(block_state_name(m.state(b)))},
           {"arena", int{b.owner}},
           {"owner", b.owner == kNoOwner ? json(nullptr) : json(owner_label(m, b))},
           {"type", v.type ? json(*v.type) : json(nullptr)},
           {"findings", std::move(problems)}};
  if (v.allocation) doc["allocation"] = chunk_allocation_json(*v.allocation);
  if (v.dump) doc["dump"] = dump_hex(*v.dump);
  // Invalid UTF-8 from the target (a corrupt class name) is replaced.
  return doc.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string dump_text(Address at, const std::vector<unsigned char>& bytes) {
  return fmt::format("  data, {} byte{}:\n", bytes.size(), bytes.size() == 1 ? "" : "s") + hex_dump(at, bytes);
}

std::string dump_hex(const std::vector<unsigned char>& bytes) {
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) hex += fmt::format("{:02x}", b);
  return hex;
}

std::string not_in_block_line(const HeapModel& m, Address asked, const Region* region, const Block* below,
                              const Block* above) {
  std::string line = fmt::format("{} is not in any {} block", to_hex(asked), m.allocator);
  if (below && above)
    line += fmt::format("; nearest blocks at {} and {}", block_range(*below), block_range(*above));
  line += region ? fmt::format("; it is in {}", region_text(*region)) : std::string("; it is in no mapping");
  return line;
}

}  // namespace heapscope
