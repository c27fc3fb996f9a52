#include "heapscope/sites/model_sites.h"

#include "heapscope/mems/model.h"
#include "heapscope/sites/mems_sites.h"

namespace heapscope::sites {

std::optional<RecordTables> model_site_tables(const HeapModel& model, const Target& target,
                                              const SymbolResolver& symbols, const CancelToken& cancel) {
  if (const auto* m = dynamic_cast<const mems::Model*>(&model)) return mems_site_tables(m->walk);
  return read_record_tables(target, symbols, cancel);
}

}  // namespace heapscope::sites
