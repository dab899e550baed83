// gradest: one binary, one subcommand per experiment. Errors in what the user gave are one line
// on stderr and exit status 2; failures of the run itself exit 1.
#include <H5Cpp.h>
#include <fmt/format.h>

#include <csignal>
#include <cstdlib>
#include <exception>
#include <new>
#include <iostream>
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "core/limits.hpp"
#include "models/blas.hpp"
#include "store/h5io.hpp"
#include "gradest_version.hpp"

namespace {

void print_usage() {
  std::cout << "gradest " << gradest::kVersion
            << ": Monte Carlo gradient estimators for variational inference, measured and compared\n\n"
               "usage: gradest SUBCOMMAND [options]     gradest SUBCOMMAND --help for its options\n"
               "       gradest --version\n\nsubcommands:\n";
  for (const auto& sub : gradest::cli::subcommands())
    std::cout << fmt::format("  {:<16} {}\n", sub.name, sub.summary);
}

std::string subcommand_names() {
  std::string out;
  for (const auto& sub : gradest::cli::subcommands()) out += (out.empty() ? "" : ", ") + std::string(sub.name);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  gradest::blas::use_one_thread();  // one BLAS thread per process (models/blas.hpp)
  H5::Exception::dontPrint();
  // Past a file-size limit (ulimit -f) or on a full disk, writes fail with an error that aborts the
  // run cleanly (partial output removed) instead of the default SIGXFSZ kill.
  std::signal(SIGXFSZ, SIG_IGN);
  gradest::h5::silence_hdf5_destructor_messages();
  gradest::cli::Context context{argv[0], gradest::cli::quote_command_line(argc, argv)};
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" || std::string(argv[1]) == "help") {
    print_usage();
    return argc < 2 ? 2 : 0;
  }
  const std::string name = argv[1];
  if (name == "--version" || name == "-V") {
    std::cout << "gradest " << gradest::kVersion << " (commit " << gradest::kGitCommit << ")\n";
    return 0;
  }
  for (const auto& sub : gradest::cli::subcommands()) {
    if (sub.name != name) continue;
    try {
      return sub.run(std::vector<std::string>(argv + 2, argv + argc), context);
    } catch (const gradest::Error& e) {  // ConfigError, InputError, cli::UsageError
      std::cerr << "gradest " << name << ": " << e.what() << "\n";
      return 2;
    } catch (const boost::program_options::error& e) {
      std::cerr << "gradest " << name << ": " << gradest::cli::describe(e) << "\n";
      return 2;
    } catch (const H5::Exception& e) {
      if (gradest::h5::unclosable_file()) {
        std::cerr << "gradest " << name << ": cannot write " << gradest::h5::opened_files_text()
                  << " (disk full or file size limit?): " << e.getDetailMsg() << "; the partial output was removed\n";
        std::cout.flush();
        std::cerr.flush();
        std::_Exit(1);
      }
      std::cerr << "gradest " << name << ": HDF5 error (" << e.getDetailMsg() << ") reading or writing "
                << gradest::h5::opened_files_text() << ": a corrupted input, a full disk, or a bug to report\n";
      return 1;
    } catch (const std::bad_alloc&) {  // sizes are checked first (core/limits.hpp); their estimates are lower bounds
      std::cerr << "gradest " << name << ": " << gradest::limits::out_of_memory_message() << "\n";
      return 1;
    } catch (const std::exception& e) {
      std::cerr << "gradest " << name << ": " << e.what() << "\n";
      if (gradest::h5::unclosable_file()) {
        std::cout.flush();
        std::cerr.flush();
        std::_Exit(1);
      }
      return 1;
    }
  }
  if (!name.empty() && name[0] == '-')
    std::cerr << fmt::format("gradest: unknown option '{}'; allowed before a subcommand: --help, --version\n", name);
  else
    std::cerr << fmt::format("gradest: unknown subcommand '{}'; allowed: {}\n", name, subcommand_names());
  return 2;
}
