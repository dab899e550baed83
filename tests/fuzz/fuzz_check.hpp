#pragma once
// FUZZ_CHECK(condition): the fuzz targets' assertion. A false condition prints itself and aborts,
// which libFuzzer reports as a crash and saves the input (Catch2 has no place in a fuzz target).
#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                                        \
  do {                                                                                               \
    if (!(condition)) {                                                                              \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s (%s:%d)\n", #condition, __FILE__, __LINE__);      \
      std::abort();                                                                                  \
    }                                                                                                \
  } while (0)
