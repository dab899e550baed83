#pragma once
// Joining run files: `gradest merge` and the end of every sweep. Each input's /runs/<run-id>
// groups are copied into one output file. A run present in several inputs is kept once if the
// copies hold the same data, and refused if they differ.
//
// "The same data": every dataset equal bit for bit, and every attribute equal, except the
// measurements of time (datasets and attributes named in `is_timing_name`: wall_time, seconds,
// steps_per_second, ...), which no two runs share.
#include <H5Cpp.h>

#include <string>
#include <vector>

#include "store/h5io.hpp"

namespace gradest::merge {

// Wall-clock measurements, excluded from equality.
bool is_timing_name(const std::string& name);

// Empty if a and b hold the same data; else the first difference ("trace/test_elbo differs").
std::string compare_groups(const H5::Group& a, const H5::Group& b);

// Writes `output` (via h5::OutputFile) with every run of `inputs`. Throws InputError on a
// conflict (the run id and the difference), leaving no output file.
// Returns the number of runs written.
std::size_t merge_files(const std::vector<std::string>& inputs, const std::string& output, bool overwrite,
                        const h5::RunMetadata& metadata);

}  // namespace gradest::merge
