#pragma once
// A model's parameters in a run file: params/values (float32, the flat parameter vector), and the
// attributes of the params group: input_dim, latents, <group>_offset and <group>_size per parameter
// group (encoder, decoder, prior); params/input_mean (float32, D) when the model centres its input.
#include <H5Cpp.h>

#include <string>

#include "models/vae.hpp"

namespace gradest::h5 {

// Replaces params/ under run_group with vae's parameters.
void write_parameters(H5::Group& run_group, Vae& vae);
// Loads the parameters saved under a run group (params/values) into vae; throws InputError naming
// `what` on a missing group or a size or layout mismatch.
void load_parameters(const H5::Group& run_group, Vae& vae, const std::string& what);
// Opens the run `run` (or the only run) of a gradest file; throws InputError otherwise.
H5::Group open_run(H5::H5File& file, const std::string& path, const std::string& run);

}  // namespace gradest::h5
