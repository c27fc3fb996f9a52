#include "render/check_render.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace heapscope {

using json = nlohmann::ordered_json;

namespace {

// Invalid UTF-8 from the target (a corrupt string in a finding) is replaced.
std::string dump_json(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string owner_label(const HeapModel& m, int owner) {
  return owner >= 0 && size_t(owner) < m.owners.size() ? m.owners[size_t(owner)].label : std::string("-");
}

// heap check's last line, for glibc and every other allocator alike.
std::string summary_line(size_t problems, uint64_t chunks) {
  const char* s = chunks == 1 ? "" : "s";
  if (problems == 0) return fmt::format("no problems found in {} chunk{}\n", chunks, s);
  return fmt::format("{} problem{} found in {} chunk{}\n", problems, problems == 1 ? "" : "s", chunks, s);
}

}  // namespace

std::string check_finding_text(const CheckFinding& f, const Style& style) {
  std::string arena = f.arena >= 0                     ? fmt::format("arena {}", f.arena)
                      : f.arena == glibc::kMmappedArena ? std::string("mmapped")
                                                        : std::string("-");
  return fmt::format("{}  {}  {}: {}; glibc: {}; likely cause: {}", style.address(f.address), arena,
                     style.paint(Hue::kFinding, f.kind), f.detail,
                     f.glibc_message.empty() ? std::string("(not checked by glibc)") : "\"" + f.glibc_message + "\"",
                     f.cause);
}

json check_finding_json(const CheckFinding& f) {
  return json{{"kind", f.kind},         {"address", to_hex(f.address)}, {"arena", f.arena},
              {"glibc_message", f.glibc_message}, {"detail", f.detail},          {"cause", f.cause}};
}

void check_text(OutputWriter& out, const CheckReport& r, const Style& style) {
  for (const auto& f : r.findings) {
    out.write(check_finding_text(f, style));
    out.write("\n");
  }
  if (r.findings.empty())
    out.print("{} in {} chunk{}\n", style.paint(Hue::kGood, "no problems found"), r.chunks_checked,
              r.chunks_checked == 1 ? "" : "s");
  else
    out.print("{} found in {} chunk{}\n",
              style.paint(Hue::kFinding,
                          fmt::format("{} problem{}", r.findings.size(), r.findings.size() == 1 ? "" : "s")),
              r.chunks_checked, r.chunks_checked == 1 ? "" : "s");
}

void check_json(OutputWriter& out, const CheckReport& r) {
  out.write("{\"findings\":[");
  for (size_t i = 0; i < r.findings.size(); ++i) {
    if (i) out.write(",");
    out.write(dump_json(check_finding_json(r.findings[i])));
  }
  out.print("],\"chunks_checked\":{}", r.chunks_checked);
  if (r.tcache_key) out.print(",\"tcache_key\":{}", dump_json(json(to_hex(*r.tcache_key))));
  out.write("}\n");
}

std::string model_finding_text(const HeapModel& m, const Finding& f) {
  return fmt::format("{}  {}  {}: {}", to_hex(f.address), owner_label(m, f.owner), f.kind, f.detail);
}

json model_finding_json(const HeapModel& m, const Finding& f) {
  return json{{"kind", f.kind},
              {"address", to_hex(f.address)},
              {"arena", f.owner},
              {"owner", f.owner == kNoOwner ? json(nullptr) : json(owner_label(m, f.owner))},
              {"detail", f.detail}};
}

void model_check_text(OutputWriter& out, const HeapModel& m) {
  for (const auto& f : m.findings) {
    out.write(model_finding_text(m, f));
    out.write("\n");
  }
  out.write(summary_line(m.findings.size(), m.blocks.size()));
}

void model_check_json(OutputWriter& out, const HeapModel& m) {
  out.print("{{\"allocator\":{},\"findings\":[", dump_json(json(m.allocator)));
  for (size_t i = 0; i < m.findings.size(); ++i) {
    if (i) out.write(",");
    out.write(dump_json(model_finding_json(m, m.findings[i])));
  }
  out.print("],\"chunks_checked\":{}}}\n", m.blocks.size());
}

std::string findings_footer(const CheckReport& r, AddressRange shown, const Style& style) {
  size_t count = 0;
  const CheckFinding* first = nullptr;
  for (const auto& f : r.findings) {
    if (shown.contains(f.address)) continue;
    if (!first) first = &f;
    ++count;
  }
  if (!first) return "";
  return fmt::format("{} {} {}heap problem{} (first at {}: {}); run 'heap check'\n",
                     style.paint(Hue::kFinding, "warning:"), count, count == r.findings.size() ? "" : "other ",
                     count == 1 ? "" : "s", style.address(first->address), first->kind);
}

}  // namespace heapscope
