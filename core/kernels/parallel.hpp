// When an elementwise loop is worth splitting across threads: below this many elements the
// OpenMP fork costs more than it saves.
#pragma once

#include <cstdint>

namespace tapegrad::kernels {
inline constexpr std::int64_t parallel_threshold = 1 << 15;
}
