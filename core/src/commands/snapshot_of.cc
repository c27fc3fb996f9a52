#include "commands/snapshot_of.h"

#include <fmt/format.h>

#include <fstream>

#include "heapscope/sites/frame_symbols.h"
#include "heapscope/sites/model_sites.h"
#include "render/sites_render.h"

namespace heapscope {

namespace {
constexpr size_t kSiteFrames = 6;  // frames that name a site in a snapshot
}

HeapSnapshot snapshot_of(Session& session, const CancelToken& cancel, std::string name, std::string source) {
  const HeapModel& m = session.heap_model(cancel);
  auto tables = sites::model_site_tables(m, session.target(), session.symbols(), cancel);
  sites::FrameSymbols symbols(session.symbols());
  auto site_name = [&](uint32_t stack) {
    std::string s;
    const auto& frames = tables->stacks[stack];
    for (size_t f = 0; f < frames.size() && f < kSiteFrames; ++f)
      s += (f ? " < " : "") + frame_text({frames[f], symbols.at(frames[f])});
    return s;
  };
  HeapSnapshot s = take_snapshot(session.target(), session.symbols(), m, tables ? &*tables : nullptr, site_name, cancel);
  s.name = std::move(name);
  s.source = std::move(source);
  return s;
}

void write_snapshot_file(const HeapSnapshot& s, const std::string& path) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << snapshot_json(s);
  if (!f.flush()) throw UserError{fmt::format("cannot write {}", path)};
}

}  // namespace heapscope
