// gradest x2 and gradest toy on the command line: bad input is refused with one line on stderr,
// a non-zero exit and no file written or overwritten; good runs write the documented layout,
// reproducibly and independently of the thread count.
#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <H5Cpp.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "store/h5io.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;

namespace {

struct Run {
  int status = -1;
  std::string out, err;
};

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A fresh, empty directory per test case.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("gradest-toys-cli-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(path)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
};

Run run(const std::string& arguments, const TempDir& dir) {
  const fs::path out = dir.path / ".stdout", err = dir.path / ".stderr";
  const std::string command = std::string(GRADEST_BINARY) + " " + arguments + " >" + out.string() + " 2>" + err.string();
  const int raw = std::system(command.c_str());
  Run r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  fs::remove(out);
  fs::remove(err);
  return r;
}

std::size_t lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

// Asserts the run was refused: exit 2, one line on stderr containing `needle`, nothing on stdout's
// "wrote" line, and the directory listing unchanged (no output, no partial file).
void check_refused(const std::string& arguments, const std::string& needle, const TempDir& dir) {
  const auto before = dir.listing();
  const Run r = run(arguments, dir);
  INFO("gradest " << arguments << "\nstderr: " << r.err);
  CHECK(r.status == 2);
  CHECK(lines(r.err) == 1);
  CHECK(r.err.find(needle) != std::string::npos);
  CHECK(r.out.find("wrote") == std::string::npos);
  CHECK(dir.listing() == before);
}

}  // namespace

TEST_CASE("x2 and toy refuse bad input with one line and write nothing", "[toys][cli]") {
  TempDir dir;
  const std::string out = (dir.path / "out.h5").string();
  check_refused("nosuch", "unknown subcommand 'nosuch'", dir);
  check_refused("x2 --bogus 1 --out " + out, "bogus", dir);
  check_refused("toy --bogus --out " + out, "bogus", dir);
  check_refused("x2 --n 0 --out " + out, "--n", dir);
  check_refused("x2 --n 10,-5 --out " + out, "--n", dir);
  check_refused("x2 --n ten --out " + out, "--n", dir);
  check_refused("x2 --repeats 1 --out " + out, "--repeats", dir);
  check_refused("toy --repeats 1 --out " + out, "--repeats", dir);
  check_refused("toy --sigma 0 --out " + out, "--sigma", dir);
  check_refused("toy --sigma -1 --out " + out, "--sigma", dir);
  check_refused("toy --samples 0 --out " + out, "--samples", dir);
  check_refused("toy --cost quartic --out " + out, "allowed: square, exp, cos", dir);
  check_refused("toy --cost exp --k -1 --out " + out, "--k", dir);
  check_refused("x2 --threads 0 --out " + out, "--threads", dir);
  // Output paths: missing directory, a file as directory.
  check_refused("x2 --out " + (dir.path / "missing" / "x.h5").string(), "does not exist", dir);
  {
    std::ofstream(dir.path / "plain") << "a file";
    check_refused("toy --out " + (dir.path / "plain" / "x.h5").string(), "does not exist", dir);
  }
  // A directory that cannot be written (root writes anywhere, so only as another user).
  if (::geteuid() != 0) {
    fs::create_directories(dir.path / "readonly");
    fs::permissions(dir.path / "readonly", fs::perms::owner_read | fs::perms::owner_exec);
    check_refused("x2 --out " + (dir.path / "readonly" / "x.h5").string(), "not writable", dir);
    fs::permissions(dir.path / "readonly", fs::perms::owner_all);
  } else {
    WARN("running as root: the read-only directory case is not exercised");
  }
}

TEST_CASE("an existing --out is kept unless --force", "[toys][cli]") {
  TempDir dir;
  const fs::path out = dir.path / "existing.h5";
  std::ofstream(out) << "precious";
  check_refused("x2 --n 10 --repeats 2 --out " + out.string(), "exists; pass --force", dir);
  check_refused("toy --repeats 2 --out " + out.string(), "exists; pass --force", dir);
  CHECK(slurp(out) == "precious");
  const Run r = run("x2 --n 10 --repeats 2 --out " + out.string() + " --force", dir);
  CHECK(r.status == 0);
  CHECK(slurp(out) != "precious");
}

TEST_CASE("x2 and toy write the documented HDF5 layout, reproducibly and independently of threads", "[toys][cli]") {
  TempDir dir;
  const std::string a = (dir.path / "a.h5").string(), b = (dir.path / "b.h5").string();
  REQUIRE(run("x2 --phi 1,2 --n 10,20,30 --repeats 50 --seed 3 --threads 1 --out " + a, dir).status == 0);
  REQUIRE(run("x2 --phi 1,2 --n 10,20,30 --repeats 50 --seed 3 --threads 2 --out " + b, dir).status == 0);
  {
    H5::H5File fa(a, H5F_ACC_RDONLY), fb(b, H5F_ACC_RDONLY);
    H5::Group ga = fa.openGroup("/x2"), gb = fb.openGroup("/x2");
    CHECK(gradest::h5::read_vector(ga, "phi") == std::vector<double>{1, 2});
    CHECK(gradest::h5::read_int_vector(ga, "n") == std::vector<std::int64_t>{10, 20, 30});
    CHECK(gradest::h5::read_vector(ga, "true_gradient") == std::vector<double>{2, 4});
    for (const char* estimator : {"score_function", "pathwise"})
      for (const char* name : {"mean", "variance", "exact_variance"}) {
        const auto ma = gradest::h5::read_matrix(fa.openGroup(std::string("/x2/") + estimator), name);
        const auto mb = gradest::h5::read_matrix(fb.openGroup(std::string("/x2/") + estimator), name);
        CHECK(ma.rows() == 2);
        CHECK(ma.cols() == 3);
        CHECK(ma == mb);
      }
    const auto exact = gradest::h5::read_matrix(fa.openGroup("/x2/score_function"), "exact_variance");
    CHECK(exact(1, 0) == Approx(87.0 / 10));
    H5::Group root = fa.openGroup("/");
    for (const char* attribute : {"gradest_version", "git_commit", "command_line", "config", "date_utc"})
      CHECK(!gradest::h5::read_string_attribute(root, attribute).empty());
    CHECK(root.attrExists("seed"));
  }
  const std::string t = (dir.path / "t.h5").string();
  REQUIRE(run("toy --cost cos --k 0.5,1,2 --mu 1 --sigma 0.8 --repeats 20 --out " + t, dir).status == 0);
  H5::H5File ft(t, H5F_ACC_RDONLY);
  H5::Group gt = ft.openGroup("/toy");
  CHECK(gradest::h5::read_vector(gt, "k") == std::vector<double>{0.5, 1, 2});
  CHECK(gradest::h5::read_vector(gt, "expected_cost").size() == 3);
  CHECK(gradest::h5::read_string_attribute(gt, "cost") == "cos");
  for (const char* p : {"mu", "sigma"}) {
    CHECK(gradest::h5::read_vector(ft.openGroup("/toy/true_gradient"), p).size() == 3);
    for (const char* e : {"score_function", "score_function_mean_baseline", "score_function_optimal_baseline", "pathwise",
                          "measure_valued", "measure_valued_uncoupled"})
      for (const char* name : {"mean", "variance", "exact_variance", "baseline"})
        CHECK(gradest::h5::read_vector(ft.openGroup(std::string("/toy/") + e + "/" + p), name).size() == 3);
  }
}
