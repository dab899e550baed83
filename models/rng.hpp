#pragma once
// Explicit, seedable random streams.
//
// Every random draw in gradest comes from an `Rng` passed in by the caller; there is no global
// generator. A run derives one stream per stable identity (seed, run, cell, draw, purpose) with
// `Rng::stream`, so results do not depend on thread count, on the order cells are computed in, or
// on how a sweep is sharded.
//
// The generator is xoshiro256++ (Blackman and Vigna), seeded through SplitMix64. Uniforms and
// normals are produced by gradest's own code (not <random>'s distributions, whose algorithms differ
// between standard libraries), so the same seed gives the same numbers with any compiler.
#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "models/types.hpp"

namespace gradest {

class Rng {
 public:
  using result_type = std::uint64_t;
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return ~result_type{0}; }

  explicit Rng(std::uint64_t seed = 0);
  // A stream identified by a seed and a path of ids: stream(seed, {run_id, cell, draw}).
  static Rng stream(std::uint64_t seed, std::initializer_list<std::uint64_t> ids);
  // A child stream of this one, identified by `id`; does not advance this generator.
  Rng child(std::uint64_t id) const;

  result_type operator()();
  // Uniform on [0, 1) with 53 random bits.
  double uniform();
  // Uniform on the open interval (0, 1): safe for log(u) and logit(u).
  double uniform_open();
  // Standard normal (Box-Muller; the second value of each pair is kept for the next call).
  double normal();
  bool bernoulli(double p) { return uniform() < p; }

  // Fill helpers for batched draws.
  void fill_uniform(Matrix& m);        // U[0,1)
  void fill_uniform_open(Matrix& m);   // U(0,1)
  void fill_normal(Matrix& m);         // N(0,1)

 private:
  std::uint64_t s_[4];
  double cached_normal_ = 0.0;
  bool has_cached_normal_ = false;
};

// 64-bit stable hash of a string (FNV-1a), for deriving stream ids from names.
std::uint64_t stable_hash(std::string_view text);
// SplitMix64 finaliser: a good 64-bit mixing function.
std::uint64_t mix64(std::uint64_t x);

}  // namespace gradest
