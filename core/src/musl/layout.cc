#include "musl/layout.h"

#include <array>

namespace heapscope::musl {

namespace {

// mallocng's size classes in 16-byte units: eight small ones, then four
// per doubling, each just below what divides a power of two well.
constexpr std::array<uint16_t, kSizeClasses> kClassUnits = {
    1,    2,    3,    4,    5,    6,    7,    8,    9,    10,   12,   15,   18,   20,   25,   31,
    36,   42,   50,   63,   72,   84,   102,  127,  146,  170,  204,  255,  292,  340,  409,  511,
    584,  682,  818,  1023, 1169, 1364, 1637, 2047, 2340, 2730, 3276, 4095, 4680, 5460, 6552, 8191,
};

}  // namespace

uint64_t class_units(unsigned sizeclass) { return sizeclass < kClassUnits.size() ? kClassUnits[sizeclass] : 0; }

}  // namespace heapscope::musl
