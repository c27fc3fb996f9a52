#include "render/check_render.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace heapscope {

using json = nlohmann::ordered_json;

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
  // Invalid UTF-8 from the target (a corrupt string in a finding) is replaced.
  auto dump = [](const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); };
  out.write("{\"findings\":[");
  for (size_t i = 0; i < r.findings.size(); ++i) {
    if (i) out.write(",");
    out.write(dump(check_finding_json(r.findings[i])));
  }
  out.print("],\"chunks_checked\":{}", r.chunks_checked);
  if (r.tcache_key) out.print(",\"tcache_key\":{}", dump(json(to_hex(*r.tcache_key))));
  out.write("}\n");
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
