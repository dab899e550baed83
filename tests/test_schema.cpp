// The HDF5 schema of a training run, pinned (README "HDF5 schema"): root attributes, the run
// group's attributes, trace datasets (names, float64, one dimension, one row per evaluation),
// params, and the variance group written by the probe. A change here is a schema change: bump
// h5::kSchemaVersion and update the README.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <H5Cpp.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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

// ---- the README's schema block against a real run file ---------------------------------------------

namespace {

struct SchemaLine {
  std::string path;                 // with <placeholders> standing for every member
  std::string type;                 // float64, float32 or int64 for a dataset; empty for a group
  std::vector<std::string> attributes;
};

// The ```text block of the README's "## HDF5 schema" section, one SchemaLine per line.
std::vector<SchemaLine> readme_schema() {
  std::ifstream in(fs::path(GRADEST_SOURCE_DIR) / "README.md");
  std::string line;
  while (std::getline(in, line) && line != "## HDF5 schema") {
  }
  while (std::getline(in, line) && line != "```text") REQUIRE(line.rfind("## ", 0) != 0);
  std::vector<SchemaLine> out;
  while (std::getline(in, line) && line != "```") {
    std::istringstream words(line);
    SchemaLine entry;
    words >> entry.path;
    for (std::string word; words >> word;) {
      if (word[0] == '@')
        entry.attributes.push_back(word.substr(1));
      else if (word == "float64" || word == "float32" || word == "int64")
        entry.type = word;
      else
        FAIL("README schema line '" << line << "': '" << word << "' is not @attribute or float64/float32/int64");
    }
    out.push_back(entry);
  }
  return out;
}

// Every object of the file matching `pattern` (placeholders match any member).
std::vector<std::string> expand(const H5::H5File& file, const std::string& pattern) {
  std::vector<std::string> paths = {""};
  std::istringstream parts(pattern);
  for (std::string part; std::getline(parts, part, '/');) {
    if (part.empty()) continue;
    std::vector<std::string> next;
    for (const auto& parent : paths) {
      if (part.front() != '<') {
        next.push_back(parent + "/" + part);
        continue;
      }
      H5::Group group = file.openGroup(parent.empty() ? "/" : parent);
      for (hsize_t i = 0; i < group.getNumObjs(); ++i) next.push_back(parent + "/" + group.getObjnameByIdx(i));
    }
    paths = next;
  }
  if (paths == std::vector<std::string>{""}) paths = {"/"};
  return paths;
}

bool matches(const std::string& path, const std::string& pattern) {
  std::istringstream a(path), b(pattern);
  std::string x, y;
  while (true) {
    const bool more_a = bool(std::getline(a, x, '/')), more_b = bool(std::getline(b, y, '/'));
    if (!more_a || !more_b) return more_a == more_b;
    if (x != y && !(y.size() > 1 && y.front() == '<')) return false;
  }
}

void all_objects(const H5::Group& group, const std::string& path, std::vector<std::string>& out) {
  for (hsize_t i = 0; i < group.getNumObjs(); ++i) {
    const std::string name = group.getObjnameByIdx(i), child = path + "/" + name;
    out.push_back(child);
    if (group.childObjType(name) == H5O_TYPE_GROUP) all_objects(group.openGroup(name), child, out);
  }
}

bool exists(const H5::H5File& file, const std::string& path) {
  if (path == "/") return true;
  try {
    H5::Exception::dontPrint();
    return file.nameExists(path);
  } catch (const H5::Exception&) {  // a path through a dataset
    return false;
  }
}

H5::PredType stored_type(const std::string& name) {
  if (name == "float32") return H5::PredType::IEEE_F32LE;
  if (name == "int64") return H5::PredType::STD_I64LE;
  return H5::PredType::IEEE_F64LE;
}

}  // namespace

TEST_CASE("the README's HDF5 schema lists exactly what gradest train writes", "[schema]") {
  const auto schema = readme_schema();
  REQUIRE(schema.size() > 10);
  const fs::path dir = fs::temp_directory_path() / ("gradest-readme-schema-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path out = dir / "run.h5";
  REQUIRE(std::system((std::string(GRADEST_BINARY) +
                       " train --model bernoulli-vae --data synthetic --synthetic-train 200 --synthetic-test 50 "
                       "--latents 4 --steps 20 --batch 10 --eval-every 10 --iwae-samples 2 --probe-every 10 "
                       "--probe-estimators reinforce,arm --probe-draws 5 --quiet --out " + out.string()).c_str()) == 0);
  {
    H5::H5File file(out.string(), H5F_ACC_RDONLY);
    for (const auto& line : schema) {
      const auto paths = expand(file, line.path);
      INFO("README lists " << line.path);
      CHECK(!paths.empty());
      for (const auto& path : paths) {
        INFO("in the file: " << path);
        CHECK(exists(file, path));
        if (!exists(file, path)) continue;
        const bool is_dataset = path != "/" && file.childObjType(path) == H5O_TYPE_DATASET;
        CHECK(is_dataset == !line.type.empty());
        if (is_dataset) CHECK(file.openDataSet(path).getDataType() == stored_type(line.type));
        for (const auto& attribute : line.attributes) {
          INFO("attribute " << attribute);
          CHECK((is_dataset ? file.openDataSet(path).attrExists(attribute) : file.openGroup(path).attrExists(attribute)));
        }
      }
    }
    std::vector<std::string> objects;
    all_objects(file.openGroup("/"), "", objects);
    for (const auto& path : objects) {
      INFO("the file holds " << path << ", which the README does not list");
      CHECK(std::any_of(schema.begin(), schema.end(), [&](const SchemaLine& l) { return matches(path, l.path); }));
    }
  }
  fs::remove_all(dir);
}
