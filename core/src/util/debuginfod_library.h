// libdebuginfod, loaded on first use instead of linked: it pulls in some
// thirty libraries (libcurl, TLS, Kerberos, LDAP, ...) whose loading and
// relocation cost every command about 7 ms of start-up, while only a run
// with $DEBUGINFOD_URLS set ever fetches a file.
#pragma once

#include <elfutils/debuginfod.h>

namespace heapscope::util {

struct DebuginfodLibrary {
  decltype(&debuginfod_begin) begin = nullptr;
  decltype(&debuginfod_find_debuginfo) find_debuginfo = nullptr;
  decltype(&debuginfod_end) end = nullptr;
};

// The library's entry points, or nullptr when it cannot be loaded (then
// nothing is fetched, as without a server).
const DebuginfodLibrary* debuginfod_library();

}  // namespace heapscope::util
