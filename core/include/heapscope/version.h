#pragma once

namespace heapscope {
inline constexpr const char kVersion[] = "0.1.0";
}
