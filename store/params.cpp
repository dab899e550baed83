#include "store/params.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <vector>

#include "core/errors.hpp"
#include "store/h5io.hpp"

namespace gradest::h5 {

void load_parameters(const H5::Group& run_group, Vae& vae, const std::string& what) {
  if (!run_group.nameExists("params") || !H5::Group(run_group.openGroup("params")).nameExists("values"))
    throw InputError(fmt::format("{} has no saved parameters (params/values)", what));
  H5::Group params = run_group.openGroup("params");
  const std::vector<double> values = read_vector(params, "values");
  Vector& target = vae.parameters().values();
  if (Index(values.size()) != target.size())
    throw InputError(fmt::format("{} holds {} parameters; this model has {} (different model options?)", what,
                                 values.size(), target.size()));
  for (const auto& group : vae.parameters().groups()) {
    const std::string key = group.name + "_size";
    if (params.attrExists(key)) {
      std::int64_t size = 0;
      params.openAttribute(key).read(H5::PredType::NATIVE_INT64, &size);
      if (size != group.size)
        throw InputError(
            fmt::format("{}: parameter group '{}' has {} values, this model {}", what, group.name, size, group.size));
    }
  }
  for (Index i = 0; i < target.size(); ++i) target(i) = Real(values[std::size_t(i)]);
}

H5::Group open_run(H5::H5File& file, const std::string& path, const std::string& run) {
  if (!file.nameExists("runs")) throw InputError(fmt::format("'{}' is not a gradest run file (no /runs group)", path));
  H5::Group runs = file.openGroup("runs");
  if (!run.empty()) {
    if (!runs.nameExists(run)) throw InputError(fmt::format("'{}' has no run '{}'", path, run));
    return runs.openGroup(run);
  }
  if (runs.getNumObjs() != 1)
    throw InputError(fmt::format("'{}' holds {} runs; name one with --run (or --init-run)", path, runs.getNumObjs()));
  return runs.openGroup(runs.getObjnameByIdx(0));
}

void write_parameters(H5::Group& run_group, Vae& vae) {
  if (run_group.nameExists("params")) run_group.unlink("params");
  H5::Group params = run_group.createGroup("params");
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
