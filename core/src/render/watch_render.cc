#include "render/watch_render.h"

#include <cmath>

#include <nlohmann/json.hpp>

namespace heapscope {
namespace {

using json = nlohmann::ordered_json;

json tally_json(const Tally& t) { return json{{"chunks", t.chunks}, {"bytes", t.bytes}}; }

void put_figures(json& j, const SampleFigures& f) {
  j["in_use"] = tally_json(f.in_use);
  j["free"] = tally_json(f.free);
  j["system_bytes"] = f.system_bytes;
}

// Times to the microsecond, milliseconds to the microsecond too.
double rounded(double v, double scale) { return std::round(v * scale) / scale; }

}  // namespace

std::string heap_sample_json(const HeapSample& s) {
  json j{{"sample", s.index},
         {"time", rounded(s.unix_time, 1e6)},
         {"elapsed", rounded(s.elapsed_seconds, 1e6)},
         {"stop_ms", rounded(s.stop_ms, 1e3)},
         {"allocator", s.allocator}};
  put_figures(j, s.total);
  json owners = json::array();
  for (const SampleFigures& o : s.owners) {
    json oj{{"label", o.label}};
    put_figures(oj, o);
    owners.push_back(std::move(oj));
  }
  j["owners"] = std::move(owners);
  j["stats"] = s.stats_json.empty() ? json(nullptr) : json::parse(s.stats_json, nullptr, false);
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace heapscope
