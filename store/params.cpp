#include "store/params.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <vector>

#include "core/errors.hpp"
#include "store/h5io.hpp"

namespace gradest::h5 {

void load_parameters(const H5::Group& run_group, Vae& vae, const std::string& what) {
  if (!exists(run_group, "params/values"))
    throw InputError(fmt::format("{} has no saved parameters (params/values)", what));
  const H5::Group params = open_group(run_group, "params");
  Vector& target = vae.parameters().values();
  // The extent is checked against this model before the values are read.
  const hsize_t stored = checked_points(open_dataset(params, "values"), sizeof(double));
  if (Index(stored) != target.size())
    throw InputError(fmt::format("{} holds {} parameters; this model has {} (different model options?)", what, stored,
                                 target.size()));
  for (const auto& group : vae.parameters().groups()) {
    const std::string key = group.name + "_size";
    if (!exists_attribute(params, key)) continue;
    if (const std::int64_t size = read_int_attribute(params, key); size != group.size)
      throw InputError(
          fmt::format("{}: parameter group '{}' has {} values, this model {}", what, group.name, size, group.size));
  }
  const std::vector<double> values = read_vector(params, "values");
  for (Index i = 0; i < target.size(); ++i) target(i) = Real(values[std::size_t(i)]);
}

H5::Group open_run(H5::H5File& file, const std::string& path, const std::string& run) {
  const H5::Group root = file.openGroup("/");
  if (!exists(root, "runs")) throw InputError(fmt::format("'{}' is not a gradest run file (no /runs group)", path));
  const H5::Group runs = open_group(root, "runs");
  if (!run.empty()) {
    if (run.find('/') != std::string::npos || !exists(runs, run))
      throw InputError(fmt::format("'{}' has no run '{}'", path, run));
    return open_group(runs, run);
  }
  const auto ids = members(runs);
  if (ids.size() != 1)
    throw InputError(fmt::format("'{}' holds {} runs; name one with --run (or --init-run)", path, ids.size()));
  return open_group(runs, ids.front().first);
}

void write_parameters(H5::Group& run_group, Vae& vae) {
  if (run_group.nameExists("params")) run_group.unlink("params");
  H5::Group params = create_group(run_group, "params");
  const Vector& values = vae.parameters().values();
  write_array(params, "values", {hsize_t(values.size())}, values.data());
  write_attribute(params, "input_dim", std::int64_t(vae.input_dim()));
  write_attribute(params, "latents", std::int64_t(vae.latents()));
  for (const auto& g : vae.parameters().groups()) {
    write_attribute(params, g.name + "_offset", std::int64_t(g.offset));
    write_attribute(params, g.name + "_size", std::int64_t(g.size));
  }
  if (vae.config().centre_input) {
    const Vector& mean = vae.config().input_mean;
    write_array(params, "input_mean", {hsize_t(mean.size())}, mean.data());
  }
}

}  // namespace gradest::h5
