#include "util/debuginfod_library.h"

#include <dlfcn.h>

namespace heapscope::util {

const DebuginfodLibrary* debuginfod_library() {
  static const DebuginfodLibrary* loaded = []() -> const DebuginfodLibrary* {
    // Kept loaded for the process's lifetime: clients may outlive any one caller.
    void* so = dlopen("libdebuginfod.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!so) return nullptr;
    static DebuginfodLibrary lib;
    lib.begin = reinterpret_cast<decltype(lib.begin)>(dlsym(so, "debuginfod_begin"));
    lib.find_debuginfo = reinterpret_cast<decltype(lib.find_debuginfo)>(dlsym(so, "debuginfod_find_debuginfo"));
    lib.end = reinterpret_cast<decltype(lib.end)>(dlsym(so, "debuginfod_end"));
    return lib.begin && lib.find_debuginfo && lib.end ? &lib : nullptr;
  }();
  return loaded;
}

}  // namespace heapscope::util
