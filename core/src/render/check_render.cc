#include "render/check_render.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace heapscope {

using json = nlohmann::ordered_json;

std::string check_finding_text(const CheckFinding& f) {
  std::string arena = f.arena >= 0                     ? fmt::format("arena {}", f.arena)
                      : f.arena == glibc::kMmappedArena ? std::string("mmapped")
                                                        : std::string("-");
  return fmt::format("{}  {}  {}: {}; glibc: {}; likely cause: {}", to_hex(f.address), arena, f.kind, f.detail,
                     f.glibc_message.empty() ? std::string("(not checked by glibc)") : "\"" + f.glibc_message + "\"",
                     f.cause);
}

json check_finding_json(const CheckFinding& f) {
  return json{{"kind", f.kind},         {"address", to_hex(f.address)}, {"arena", f.arena},
              {"glibc_message", f.glibc_message}, {"detail", f.detail},          {"cause", f.cause}};
}

std::string check_text(const CheckReport& r) {
  std::string out;
  for (const auto& f : r.findings) out += check_finding_text(f) + "\n";
  if (r.findings.empty())
    out += fmt::format("no problems found in {} chunk{}\n", r.chunks_checked, r.chunks_checked == 1 ? "" : "s");
  else
    out += fmt::format("{} problem{} found in {} chunk{}\n", r.findings.size(), r.findings.size() == 1 ? "" : "s",
                       r.chunks_checked, r.chunks_checked == 1 ? "" : "s");
  return out;
}

std::string check_json(const CheckReport& r) {
  json fs = json::array();
  for (const auto& f : r.findings) fs.push_back(check_finding_json(f));
  json j{{"findings", std::move(fs)}, {"chunks_checked", r.chunks_checked}};
  if (r.tcache_key) j["tcache_key"] = to_hex(*r.tcache_key);
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string findings_footer(const CheckReport& r) {
  if (r.findings.empty()) return "";
  const auto& f = r.findings.front();
  return fmt::format("warning: {} problem{} found in the heap; first at {}: {}: {}; run 'heap check'\n",
                     r.findings.size(), r.findings.size() == 1 ? "" : "s", to_hex(f.address), f.kind, f.detail);
}

}  // namespace heapscope
