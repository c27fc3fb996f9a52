// A snapshot's file: one JSON document, versioned, every number exact.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>

#include "heapscope/analysis/snapshot.h"
#include "heapscope/error.h"

namespace heapscope {
namespace {

using json = nlohmann::ordered_json;

constexpr const char* kFormat = "heapscope-snapshot";
constexpr int kVersion = 1;

json tally_json(const Tally& t) { return json{{"count", t.chunks}, {"bytes", t.bytes}}; }

// "0x1234" -> 0x1234; a json::exception-like failure otherwise.
uint64_t hex_address(const std::string& text) {
  uint64_t v = 0;
  auto digits = std::string_view(text).substr(text.starts_with("0x") ? 2 : 0);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, 16);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty())
    throw json::other_error::create(600, "bad address '" + text + "'", nullptr);
  return v;
}

Tally tally_of(const json& j) { return Tally{j.at("count").get<uint64_t>(), j.at("bytes").get<uint64_t>()}; }

}  // namespace

std::string snapshot_json(const HeapSnapshot& s) {
  json classes = json::array(), types = json::array(), sites = json::array(), leaks = json::array();
  for (const auto& [c, t] : s.by_size_class) classes.push_back(json{{"size_class", c}, {"count", t.chunks}, {"bytes", t.bytes}});
  for (const auto& [n, t] : s.by_type) types.push_back(json{{"type", n}, {"count", t.chunks}, {"bytes", t.bytes}});
  for (const auto& [n, t] : s.by_site) sites.push_back(json{{"site", n}, {"count", t.chunks}, {"bytes", t.bytes}});
  for (const auto& l : s.leaks)
    leaks.push_back(json{{"address", to_hex(Address(l.address))}, {"size", l.size}, {"type", l.type}, {"site", l.site}});
  json j{{"format", kFormat}, {"version", kVersion}, {"name", s.name}, {"source", s.source},
         {"allocator", s.allocator}, {"pid", s.pid}, {"in_use", tally_json(s.in_use)},
         {"free", tally_json(s.free)}, {"system_bytes", s.system_bytes}, {"has_sites", s.has_sites},
         {"by_size_class", std::move(classes)}, {"by_type", std::move(types)},
         {"by_site", s.has_sites ? std::move(sites) : json(nullptr)}, {"leaks", std::move(leaks)}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

HeapSnapshot parse_snapshot(std::string_view text, std::string_view where) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("format", "") != kFormat)
    throw UserError{fmt::format("{} is not a heapscope snapshot", where)};
  if (j.value("version", 0) != kVersion)
    throw UserError{fmt::format("{} is a snapshot of version {}; this heapscope reads version {}", where,
                                j.value("version", 0), kVersion)};
  try {
    HeapSnapshot s;
    s.name = j.at("name").get<std::string>();
    s.source = j.at("source").get<std::string>();
    s.allocator = j.at("allocator").get<std::string>();
    s.pid = j.at("pid").get<uint64_t>();
    s.in_use = tally_of(j.at("in_use"));
    s.free = tally_of(j.at("free"));
    s.system_bytes = j.at("system_bytes").get<uint64_t>();
    s.has_sites = j.at("has_sites").get<bool>();
    for (const auto& r : j.at("by_size_class")) s.by_size_class[r.at("size_class").get<uint64_t>()] = tally_of(r);
    for (const auto& r : j.at("by_type")) s.by_type[r.at("type").get<std::string>()] = tally_of(r);
    if (s.has_sites)
      for (const auto& r : j.at("by_site")) s.by_site[r.at("site").get<std::string>()] = tally_of(r);
    for (const auto& r : j.at("leaks")) {
      uint64_t a = hex_address(r.at("address").get<std::string>());
      s.leaks.push_back({a, r.at("size").get<uint64_t>(), r.at("type").get<std::string>(),
                         r.at("site").get<std::string>()});
    }
    std::sort(s.leaks.begin(), s.leaks.end());
    return s;
  } catch (const json::exception& e) {
    throw UserError{fmt::format("{}: a snapshot with a missing or wrong field ({})", where, e.what())};
  }
}

}  // namespace heapscope
