// Renderer for `heap try-free`: free()'s checks in order with what each
// compared, then what free() would do (text), or one line of JSON.
#pragma once

#include <string>

#include "glibc/try_free.h"
#include "render/style.h"

namespace heapscope {

std::string try_free_text(const glibc::TryFreeReport& r, const Style& style = Style());
std::string try_free_json(const glibc::TryFreeReport& r, size_t findings);

}  // namespace heapscope
