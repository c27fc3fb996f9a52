#include "render/diff_render.h"

#include <nlohmann/json.hpp>

#include "render/format.h"

namespace heapscope {
namespace {

using json = nlohmann::ordered_json;

std::string signed_bytes(int64_t v) {
  if (v == 0) return "0 B";
  uint64_t mag = v < 0 ? static_cast<uint64_t>(-(v + 1)) + 1 : static_cast<uint64_t>(v);
  return (v < 0 ? "-" : "+") + human_size(mag);
}

void table_text(OutputWriter& out, const char* title, const std::vector<DiffRow>& rows, size_t limit) {
  out.print("{}: {} changed\n", title, rows.size());
  if (rows.empty()) return;
  out.print("  {:>11}  {:>8}  {:>11}  {:>8}  {}\n", "bytes", "count", "now", "count", "");
  for (size_t i = 0; i < rows.size() && i < limit; ++i) {
    const auto& r = rows[i];
    out.print("  {:>11}  {:>+8}  {:>11}  {:>8}  {}\n", signed_bytes(r.bytes_change()), r.count_change(),
              human_size(r.after.bytes), r.after.chunks, r.key.empty() ? "(none)" : r.key);
  }
  if (rows.size() > limit) out.print("  ... {} more (--limit N)\n", rows.size() - limit);
}

void leaks_text(OutputWriter& out, const char* title, const std::vector<SnapshotLeak>& leaks, size_t limit) {
  uint64_t bytes = 0;
  for (const auto& l : leaks) bytes += l.size;
  out.print("{}: {} ({} bytes)\n", title, leaks.size(), bytes);
  for (size_t i = 0; i < leaks.size() && i < limit; ++i) {
    const auto& l = leaks[i];
    out.print("  {}  {:>8}  {}{}{}\n", to_hex(Address(l.address)), l.size, l.type.empty() ? "-" : l.type,
              l.site.empty() ? "" : "  at ", l.site);
  }
  if (leaks.size() > limit) out.print("  ... {} more (--limit N)\n", leaks.size() - limit);
}

json rows_json(const std::vector<DiffRow>& rows, const char* key) {
  json a = json::array();
  for (const auto& r : rows)
    a.push_back(json{{key, r.key}, {"bytes_before", r.before.bytes}, {"count_before", r.before.chunks},
                     {"bytes_after", r.after.bytes}, {"count_after", r.after.chunks},
                     {"bytes_change", r.bytes_change()}, {"count_change", r.count_change()}});
  return a;
}

json leaks_json(const std::vector<SnapshotLeak>& leaks) {
  json a = json::array();
  for (const auto& l : leaks)
    a.push_back(json{{"address", to_hex(Address(l.address))}, {"size", l.size}, {"type", l.type}, {"site", l.site}});
  return a;
}

json totals_json(const Tally& before, const Tally& after) {
  return json{{"bytes_before", before.bytes}, {"count_before", before.chunks}, {"bytes_after", after.bytes},
              {"count_after", after.chunks},
              {"bytes_change", static_cast<int64_t>(after.bytes) - static_cast<int64_t>(before.bytes)},
              {"count_change", static_cast<int64_t>(after.chunks) - static_cast<int64_t>(before.chunks)}};
}

}  // namespace

void diff_text(OutputWriter& out, const SnapshotDiff& d, size_t rows) {
  out.print("heap diff {} -> {}\n", d.before_name, d.after_name);
  auto total = [&](const char* what, const Tally& b, const Tally& a) {
    out.print("  {:<7} {:>11} ({:+} blocks), now {} in {} blocks\n", what,
              signed_bytes(static_cast<int64_t>(a.bytes) - static_cast<int64_t>(b.bytes)),
              static_cast<int64_t>(a.chunks) - static_cast<int64_t>(b.chunks), bytes_with_human(a.bytes), a.chunks);
  };
  total("in use", d.in_use_before, d.in_use_after);
  total("free", d.free_before, d.free_after);
  out.print("  {:<7} {:>11}, now {}\n", "system",
            signed_bytes(static_cast<int64_t>(d.system_after) - static_cast<int64_t>(d.system_before)),
            bytes_with_human(d.system_after));
  table_text(out, "by size class", d.by_size_class, rows);
  table_text(out, "by type", d.by_type, rows);
  if (d.sites) table_text(out, "by site", d.by_site, rows);
  else out.print("by site: not recorded in both (run the program with LD_PRELOAD=libheapscope-record.so)\n");
  leaks_text(out, "new leaks", d.new_leaks, rows);
  leaks_text(out, "gone leaks", d.gone_leaks, rows);
}

void diff_json(OutputWriter& out, const SnapshotDiff& d) {
  json j{{"before", d.before_name}, {"after", d.after_name},
         {"in_use", totals_json(d.in_use_before, d.in_use_after)},
         {"free", totals_json(d.free_before, d.free_after)},
         {"system", {{"bytes_before", d.system_before}, {"bytes_after", d.system_after},
                     {"bytes_change", static_cast<int64_t>(d.system_after) - static_cast<int64_t>(d.system_before)}}},
         {"by_size_class", rows_json(d.by_size_class, "size_class")},
         {"by_type", rows_json(d.by_type, "type")},
         {"by_site", d.sites ? rows_json(d.by_site, "site") : json(nullptr)},
         {"new_leaks", leaks_json(d.new_leaks)},
         {"gone_leaks", leaks_json(d.gone_leaks)}};
  out.write(j.dump(-1, ' ', false, json::error_handler_t::replace));
  out.write("\n");
}

void snapshot_saved_text(OutputWriter& out, const HeapSnapshot& s, const std::string& file) {
  out.print("snapshot {}: {} in use in {} blocks, {} leaked block{}, {} size classes, {} types{}{}{}\n", s.name,
            bytes_with_human(s.in_use.bytes), s.in_use.chunks, s.leaks.size(), s.leaks.size() == 1 ? "" : "s",
            s.by_size_class.size(), s.by_type.size(), s.has_sites ? fmt::format(", {} sites", s.by_site.size()) : "",
            file.empty() ? "" : ", written to ", file);
}

void snapshot_saved_json(OutputWriter& out, const HeapSnapshot& s, const std::string& file) {
  json j{{"name", s.name}, {"file", file.empty() ? json(nullptr) : json(file)},
         {"in_use", {{"count", s.in_use.chunks}, {"bytes", s.in_use.bytes}}}, {"leaks", s.leaks.size()},
         {"size_classes", s.by_size_class.size()}, {"types", s.by_type.size()},
         {"sites", s.has_sites ? json(s.by_site.size()) : json(nullptr)}};
  out.write(j.dump(-1, ' ', false, json::error_handler_t::replace));
  out.write("\n");
}

}  // namespace heapscope
