// The HDF5 schema of a training run, pinned (README "HDF5 schema"): root attributes, the run
// group's attributes, trace datasets (names, float64, one dimension, one row per evaluation),
// params, and the variance group written by the probe. A change here is a schema change: bump
// h5::kSchemaVersion and update the README.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <H5Cpp.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "store/h5io.hpp"

namespace fs = std::filesystem;

TEST_CASE("the HDF5 schema of a run is pinned", "[schema]") {
  const fs::path dir = fs::temp_directory_path() / ("gradest-schema-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path out = dir / "run.h5";
  const std::string command = std::string(GRADEST_BINARY) +
                              " train --model bernoulli-vae --data synthetic --synthetic-train 200 --synthetic-test 50 "
                              "--latents 4 --steps 20 --batch 10 --eval-every 10 --iwae-samples 2 --probe-every 10 "
                              "--probe-estimators reinforce,arm --probe-draws 5 --quiet --out " + out.string();
  REQUIRE(std::system(command.c_str()) == 0);
  H5::H5File file(out.string(), H5F_ACC_RDONLY);
  H5::Group root = file.openGroup("/");
  for (const char* name : {"gradest_version", "git_commit", "schema_version", "command_line", "seed", "config", "date_utc"})
    CHECK(root.attrExists(name));
  std::int64_t schema = 0;
  root.openAttribute("schema_version").read(H5::PredType::NATIVE_INT64, &schema);
  CHECK(schema == gradest::h5::kSchemaVersion);
  H5::Group runs = file.openGroup("/runs");
  REQUIRE(runs.getNumObjs() == 1);
  const std::string id = runs.getObjnameByIdx(0);
  CHECK(id.size() == 16);
  H5::Group run = runs.openGroup(id);
  for (const char* name : {"run_id", "config", "seed", "status", "steps_completed", "gradest_version", "git_commit",
                           "estimator", "model", "samples", "lr", "batch", "steps", "data_source"})
    CHECK(run.attrExists(name));
  CHECK(gradest::h5::read_string_attribute(run, "status") == "completed");
  CHECK(gradest::h5::read_string_attribute(run, "run_id") == id);
  for (const char* name : {"step", "train_elbo", "test_elbo", "test_iwae", "recon", "kl", "active_units", "wall_time",
                           "steps_per_second"}) {
    INFO("trace/" << name);
    H5::DataSet ds = run.openDataSet(std::string("trace/") + name);
    CHECK(ds.getDataType() == H5::PredType::IEEE_F64LE);
    CHECK(ds.getSpace().getSimpleExtentNdims() == 1);
    CHECK(ds.getSpace().getSimpleExtentNpoints() == 3);  // steps 0, 10, 20
  }
  H5::DataSet params = run.openDataSet("params/values");
  CHECK(params.getDataType() == H5::PredType::IEEE_F32LE);
  for (const char* label : {"reinforce", "arm"})
    for (const char* name : {"step", "trace_encoder", "trace_decoder", "mean_var_encoder", "mean_var_decoder",
                             "snr_encoder", "snr_decoder", "bias_norm", "max_abs_z", "evals_per_estimate",
                             "seconds_per_estimate"}) {
      INFO("variance/" << label << "/" << name);
      H5::DataSet ds = run.openDataSet(std::string("variance/") + label + "/" + name);
      CHECK(ds.getDataType() == H5::PredType::IEEE_F64LE);
      CHECK(ds.getSpace().getSimpleExtentNpoints() == 3);
    }
  file.close();
  fs::remove_all(dir);
}
