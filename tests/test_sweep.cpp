// Sweep configuration: grids, exclusions, sharding (sweep/sweep.hpp).
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "cli/cli.hpp"
#include "sweep/sweep.hpp"

using namespace gradest::sweep;
using UsageError = gradest::Error;

TEST_CASE("a sweep config expands to the Cartesian product minus exclusions", "[sweep]") {
  const auto spec = parse_config(
      "[sweep]\nname = demo\nexclude = estimator=arm seed=2\n[train]\nmodel = bernoulli-vae\n"
      "estimator = reinforce-loo, arm\nseed = 1..3\nencoder = linear | 200,200\n",
      "demo.ini");
  CHECK(spec.name == "demo");
  const auto runs = expand(spec);
  // 2 estimators x 3 seeds x 2 encoders = 12, minus arm & seed 2 (2 runs) = 10.
  REQUIRE(runs.size() == 10);
  std::set<std::string> labels;
  for (const auto& run : runs) {
    labels.insert(run.label());
    CHECK(run.label().find("estimator=arm seed=2") == std::string::npos);
  }
  CHECK(labels.size() == 10);
  CHECK(runs[0].label() == "estimator=reinforce-loo seed=1 encoder=linear");
  CHECK(runs[1].label() == "estimator=reinforce-loo seed=1 encoder=200,200");
  for (std::size_t i = 0; i < runs.size(); ++i) CHECK(runs[i].index == i);
}

TEST_CASE("bad sweep configs are refused with the key named", "[sweep]") {
  auto message = [](const std::string& text) {
    try {
      parse_config(text, "bad.ini");
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK(message("[train]\nestimator = arm,,disarm\n").find("empty value") != std::string::npos);
  CHECK(message("[train]\nseed = 3..1\n").find("empty") != std::string::npos);
  CHECK(message("[train]\nseed = a..b\n").find("not an integer") != std::string::npos);
  CHECK(message("[sweep]\nname = x\n").find("grid is empty") != std::string::npos);
  CHECK(message("[sweep]\ncolour = red\n[train]\nseed = 1\n").find("unknown key 'colour'") != std::string::npos);
  CHECK(message("[other]\nseed = 1\n").find("unknown section [other]") != std::string::npos);
  CHECK(message("[sweep]\nexclude = seed\n[train]\nseed = 1\n").find("key=value") != std::string::npos);
  CHECK(message("[sweep]\nexclude = lr=1\n[train]\nseed = 1\n").find("'lr'") != std::string::npos);
  CHECK(message("[train]\nout = x.h5\n").find("set by the sweep") != std::string::npos);
  CHECK(message("[train]\nseed = 1\nseed = 2\n").find("twice") != std::string::npos);
  CHECK(message("this is not ini\n").find("malformed") != std::string::npos);
  // Found by fuzz_config: a huge range must be refused, not expanded.
  CHECK(message("[train]\nseed = 1..2072820728\n").find("more than 100000 values") != std::string::npos);
  CHECK(message("[train]\na = 1..400\nb = 1..400\n").find("at most 100000") != std::string::npos);
}

TEST_CASE("shards partition the grid, from the flag or the cluster's variables", "[sweep]") {
  std::map<std::string, std::string> env;
  auto getenv = [&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  CHECK(resolve_shard(std::nullopt, getenv).count == 1);
  const Shard flag = resolve_shard(std::string("1/3"), getenv);
  CHECK((flag.index == 1 && flag.count == 3));
  env = {{"SLURM_ARRAY_TASK_ID", "5"}, {"SLURM_ARRAY_TASK_MIN", "4"}, {"SLURM_ARRAY_TASK_COUNT", "2"}};
  const Shard slurm = resolve_shard(std::nullopt, getenv);
  CHECK((slurm.index == 1 && slurm.count == 2 && slurm.source == "SLURM_ARRAY_TASK_ID"));
  env = {{"OMPI_COMM_WORLD_RANK", "0"}, {"OMPI_COMM_WORLD_SIZE", "4"}};
  CHECK(resolve_shard(std::nullopt, getenv).count == 4);
  env = {{"PMI_RANK", "2"}, {"PMI_SIZE", "3"}};
  CHECK(resolve_shard(std::nullopt, getenv).index == 2);
  CHECK_THROWS_AS(resolve_shard(std::string("3/3"), getenv), UsageError);
  CHECK_THROWS_AS(resolve_shard(std::string("x"), getenv), UsageError);
  // Every run in exactly one shard.
  for (std::size_t run = 0; run < 20; ++run) {
    int owners = 0;
    for (int i = 0; i < 3; ++i) owners += Shard{i, 3, "t"}.owns(run);
    CHECK(owners == 1);
  }
}
