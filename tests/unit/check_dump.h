// heap check's text report as one string, for tests that read or compare it.
#pragma once

#include <string>

#include "heapscope/analysis/check.h"
#include "heapscope/output.h"
#include "render/check_render.h"

namespace heapscope::testing {

inline std::string dump(const CheckReport& r) {
  StringSink sink;
  OutputWriter out(sink);
  check_text(out, r);
  out.flush();
  return sink.take();
}

}  // namespace heapscope::testing
