#include "models/rng.hpp"

#include <cmath>
#include <numbers>

namespace gradest {
namespace {
inline std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t stable_hash(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

Rng::Rng(std::uint64_t seed) {
  std::uint64_t x = seed;
  for (auto& s : s_) {
    x = mix64(x);
    s = x;
  }
}

Rng Rng::stream(std::uint64_t seed, std::initializer_list<std::uint64_t> ids) {
  std::uint64_t h = mix64(seed ^ 0x6a09e667f3bcc909ULL);
  for (std::uint64_t id : ids) h = mix64(h ^ mix64(id + 0x3c6ef372fe94f82bULL));
  return Rng(h);
}

Rng Rng::child(std::uint64_t id) const {
  std::uint64_t h = mix64(s_[0] ^ mix64(s_[1] + id)) ^ mix64(s_[2] + 0x510e527fade682d1ULL * (id + 1));
  return Rng(h ^ s_[3]);
}

Rng::result_type Rng::operator()() {
  const std::uint64_t result = rotl(s_[0] + s_[3], 23) + s_[0];
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }

double Rng::uniform_open() { return (static_cast<double>((*this)() >> 12) + 0.5) * 0x1.0p-52; }

double Rng::normal() {
  if (has_cached_normal_) {
    has_cached_normal_ = false;
    return cached_normal_;
  }
  const double u1 = uniform_open();
  const double u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double angle = 2.0 * std::numbers::pi * u2;
  cached_normal_ = r * std::sin(angle);
  has_cached_normal_ = true;
  return r * std::cos(angle);
}

void Rng::fill_uniform(Matrix& m) {
  Real* p = m.data();
  for (Index i = 0, n = m.size(); i < n; ++i) p[i] = static_cast<Real>(uniform());
}

void Rng::fill_uniform_open(Matrix& m) {
  Real* p = m.data();
  for (Index i = 0, n = m.size(); i < n; ++i) {
    Real u = static_cast<Real>(uniform_open());
    // Rounding to float may reach 0 or 1; keep the interval open.
    if (u <= Real(0)) u = std::numeric_limits<Real>::min();
    if (u >= Real(1)) u = Real(1) - std::numeric_limits<Real>::epsilon();
    p[i] = u;
  }
}

void Rng::fill_normal(Matrix& m) {
  Real* p = m.data();
  for (Index i = 0, n = m.size(); i < n; ++i) p[i] = static_cast<Real>(normal());
}

}  // namespace gradest
