// Coverage feedback for libFuzzer from g++-built code.
//
// Why this exists: the project is C++23 with std::expected, which clang 14 cannot compile
// against libstdc++ 12 (<expected> requires __cpp_concepts >= 202002L; clang 14 reports
// 201907L), so -fsanitize=fuzzer is out of reach. g++ 12 can instrument every edge with
// -fsanitize-coverage=trace-pc (a call to __sanitizer_cov_trace_pc) and every comparison with
// trace-cmp (libFuzzer's __sanitizer_cov_trace_cmp* hooks, which it implements). libFuzzer 14
// refuses trace-pc itself, so fuzz/CMakeLists.txt links a copy of its runtime with that one
// symbol made weak, and this file supplies it: AFL's scheme, hashing (previous block, this
// block) into a 64 KiB map of 8-bit counters that libFuzzer reads as inline counters. Edges can
// collide in the map (as in AFL), which only makes the feedback coarser.
#include <cstddef>
#include <cstdint>

extern "C" void __sanitizer_cov_8bit_counters_init(uint8_t* start, uint8_t* stop);
extern "C" void __sanitizer_cov_pcs_init(const uintptr_t* start, const uintptr_t* stop);

namespace {

constexpr size_t kMapSize = size_t{1} << 16;
alignas(64) uint8_t g_counters[kMapSize];
// libFuzzer pairs each counter with a "PC" to count covered edges ("cov:" in its output);
// the map slot stands in for it.
struct PcEntry {
  uintptr_t pc;
  uintptr_t flags;
};
PcEntry g_pcs[kMapSize];
thread_local uintptr_t t_previous = 0;

__attribute__((constructor, no_sanitize_coverage, no_sanitize("address", "undefined"))) void
RegisterCounters() {
  for (size_t i = 0; i < kMapSize; ++i) {
    g_pcs[i] = {i + 1, 0};
  }
  __sanitizer_cov_8bit_counters_init(g_counters, g_counters + kMapSize);
  __sanitizer_cov_pcs_init(reinterpret_cast<const uintptr_t*>(g_pcs),
                           reinterpret_cast<const uintptr_t*>(g_pcs + kMapSize));
}

}  // namespace

extern "C" __attribute__((no_sanitize_coverage, no_sanitize("address", "undefined"))) void
__sanitizer_cov_trace_pc() {
  auto pc = reinterpret_cast<uintptr_t>(__builtin_return_address(0));
  uintptr_t block = ((pc ^ (pc >> 16)) * 0x9E3779B1u >> 8) & (kMapSize - 1);
  ++g_counters[block ^ t_previous];
  t_previous = block >> 1;
}

// GCC's trace-cmp also reports floating-point comparisons, which libFuzzer has no hooks for
// (clang does not emit them). Their operands would make poor mutation hints anyway.
extern "C" __attribute__((no_sanitize_coverage)) void __sanitizer_cov_trace_cmpf(float, float) {}
extern "C" __attribute__((no_sanitize_coverage)) void __sanitizer_cov_trace_cmpd(double, double) {}
