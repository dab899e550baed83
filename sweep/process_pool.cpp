#include "sweep/process_pool.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <map>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace gradest::sweep {
namespace {
volatile std::sig_atomic_t g_interrupted = 0;
void on_signal(int) { g_interrupted = 1; }
}  // namespace

bool interrupted() { return g_interrupted != 0; }

void install_interrupt_handler() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool run_jobs(const std::vector<Job>& jobs, int max_parallel, const std::function<void(std::size_t)>& on_start,
              const std::function<void(std::size_t, const JobResult&)>& on_finish,
              const std::function<void()>& on_tick) {
  using clock = std::chrono::steady_clock;
  struct Running {
    std::size_t job;
    clock::time_point start;
  };
  std::map<pid_t, Running> running;
  std::size_t next = 0;
  bool forwarded = false;
  auto last_tick = clock::now();
  while ((next < jobs.size() && !interrupted()) || !running.empty()) {
    if (interrupted() && !forwarded) {
      for (const auto& [pid, r] : running) kill(pid, SIGINT);
      forwarded = true;
    }
    while (!interrupted() && next < jobs.size() && static_cast<int>(running.size()) < max_parallel) {
      const Job& job = jobs[next];
      std::vector<std::string> argv_storage;
      argv_storage.push_back("/proc/self/exe");
      for (const auto& a : job.args) argv_storage.push_back(a);
      std::vector<char*> argv;
      for (auto& a : argv_storage) argv.push_back(a.data());
      argv.push_back(nullptr);
      posix_spawn_file_actions_t actions;
      posix_spawn_file_actions_init(&actions);
      posix_spawn_file_actions_addopen(&actions, 1, job.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      posix_spawn_file_actions_adddup2(&actions, 1, 2);
      posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
      pid_t pid = 0;
      // The child execs its parent's own image through /proc/self/exe, which works even when the
      // binary on disk was replaced (rebuilt) while the sweep runs.
      const int rc = posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), environ);
      posix_spawn_file_actions_destroy(&actions);
      if (rc != 0) throw std::runtime_error(std::string("cannot start a run: ") + std::strerror(rc));
      running[pid] = Running{next, clock::now()};
      on_start(next);
      ++next;
    }
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      auto it = running.find(pid);
      if (it != running.end()) {
        JobResult result;
        result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        result.seconds = std::chrono::duration<double>(clock::now() - it->second.start).count();
        const std::size_t job = it->second.job;
        running.erase(it);
        on_finish(job, result);
      }
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (clock::now() - last_tick > std::chrono::milliseconds(500)) {
      on_tick();
      last_tick = clock::now();
    }
  }
  return !interrupted();
}

}  // namespace gradest::sweep

namespace gradest::sweep {

Captured run_and_capture(const std::vector<std::string>& args) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("cannot create a pipe");
  std::vector<std::string> argv_storage{"/proc/self/exe"};
  for (const auto& a : args) argv_storage.push_back(a);
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    throw std::runtime_error(std::string("cannot start gradest: ") + std::strerror(rc));
  }
  Captured result;
  char buf[4096];
  ssize_t got = 0;
  while ((got = read(fds[0], buf, sizeof buf)) > 0) result.output.append(buf, static_cast<std::size_t>(got));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace gradest::sweep
