#include "tests/support/redis_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "hiredis/hiredis.h"

extern char** environ;

namespace ecoact::test {
namespace {

constexpr absl::Duration kPollInterval = absl::Milliseconds(10);
constexpr int kRedisPortAttempts = 5;

std::string ErrnoText(int error) { return std::strerror(error); }

std::string Basename(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool IsExecutableFile(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
         ::access(path.c_str(), X_OK) == 0;
}

std::string ReadFileFrom(const std::string& path, size_t offset) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size <= 0 || static_cast<size_t>(size) <= offset) return "";
  in.seekg(static_cast<std::streamoff>(offset));
  std::string text(static_cast<size_t>(size) - offset, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

size_t FileSize(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 ? static_cast<size_t>(info.st_size) : 0;
}

std::string Tail(const std::string& text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  return absl::StrCat("...", text.substr(text.size() - max_bytes));
}

void PrintLogIfTestFailed(absl::string_view what, const std::string& path) {
  if (!::testing::Test::HasFailure() || path.empty()) return;
  std::string log = ReadFileFrom(path, 0);
  std::cerr << "---- last lines of " << what << " log (" << path << ") ----\n"
            << Tail(log, 4096) << (log.empty() || log.back() == '\n' ? "" : "\n")
            << "---- end of " << what << " log ----" << std::endl;
}

void RemoveTree(const std::string& dir) {
  if (dir.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

// One TCP connection attempt, bounded by `timeout`.
bool TryConnect(const std::string& host, int port, absl::Duration timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) {
    return false;
  }
  bool connected = false;
  for (addrinfo* a = found; a != nullptr && !connected; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      connected = true;
    } else if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) == 1) {
        int error = 0;
        socklen_t length = sizeof(error);
        connected = ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
      }
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return connected;
}

// A connection to 127.0.0.1:port with `timeout` on connect and commands,
// logged in with `password` if not empty; null, or a context with err set,
// when that fails.
redisContext* ConnectToTestRedis(int port, absl::Duration timeout, const std::string& password) {
  redisContext* context = redisConnectWithTimeout("127.0.0.1", port, absl::ToTimeval(timeout));
  if (context == nullptr || context->err != 0) return context;
  if (redisSetTimeout(context, absl::ToTimeval(timeout)) != REDIS_OK) {
    context->err = REDIS_ERR_IO;
    return context;
  }
  if (password.empty()) return context;
  auto* auth = static_cast<redisReply*>(redisCommand(context, "AUTH %b", password.data(),
                                                     password.size()));
  if (auth == nullptr || auth->type == REDIS_REPLY_ERROR) context->err = REDIS_ERR_OTHER;
  if (auth != nullptr) freeReplyObject(auth);
  return context;
}

// PONG from the redis-server with pid `pid` on 127.0.0.1:port. Checking the
// pid guards against a foreign server that owns the port while ours fails to
// bind it.
bool RedisAnswers(int port, pid_t pid, const std::string& password) {
  redisContext* context = ConnectToTestRedis(port, absl::Milliseconds(250), password);
  if (context == nullptr) return false;
  bool ready = false;
  if (context->err == 0) {
    auto* pong = static_cast<redisReply*>(redisCommand(context, "PING"));
    if (pong != nullptr && pong->type == REDIS_REPLY_STATUS &&
        absl::string_view(pong->str, pong->len) == "PONG") {
      auto* info = static_cast<redisReply*>(redisCommand(context, "INFO server"));
      if (info != nullptr && info->type == REDIS_REPLY_STRING) {
        ready = absl::StrContains(absl::string_view(info->str, info->len),
                                  absl::StrCat("\nprocess_id:", pid, "\r"));
      }
      if (info != nullptr) freeReplyObject(info);
    }
    if (pong != nullptr) freeReplyObject(pong);
  }
  redisFree(context);
  return ready;
}

}  // namespace

std::string UniqueKeyPrefix() {
  static std::atomic<int> counter{0};
  return absl::StrCat("t", ::getpid(), "n", counter.fetch_add(1));
}

absl::StatusOr<std::string> MakeTempDir(absl::string_view label) {
  std::string safe_label;
  for (char c : label) safe_label += (std::isalnum(static_cast<unsigned char>(c)) || c == '-') ? c : '_';
  std::string base = ::testing::TempDir();
  if (base.empty()) base = "/tmp/";
  if (base.back() != '/') base += '/';
  std::string pattern = absl::StrCat(base, "ecoact-", safe_label, "-XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot create a temp dir like ", pattern, ": ", ErrnoText(errno)));
  }
  return pattern;
}

absl::StatusOr<int> PickFreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", ErrnoText(errno)));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    int error = errno;
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("no free loopback port: ", ErrnoText(error)));
  }
  ::close(fd);
  return static_cast<int>(ntohs(address.sin_port));
}

absl::Status WaitForPort(const std::string& host, int port, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (TryConnect(host, port, std::min(std::max(left, absl::Milliseconds(1)),
                                        absl::Milliseconds(250)))) {
      return absl::OkStatus();
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat("nothing accepted connections on ", host,
                                                      ":", port, " within ",
                                                      absl::FormatDuration(timeout)));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

absl::StatusOr<std::string> FindExecutable(absl::string_view name,
                                           const std::vector<std::string>& fallbacks) {
  std::string wanted(name);
  if (absl::StrContains(wanted, '/')) {
    if (IsExecutableFile(wanted)) return wanted;
    return absl::NotFoundError(absl::StrCat("'", wanted, "' is not an executable file"));
  }
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path != nullptr ? path : "", ':')) {
    if (dir.empty()) continue;
    std::string candidate = absl::StrCat(dir, "/", wanted);
    if (IsExecutableFile(candidate)) return candidate;
  }
  for (const std::string& candidate : fallbacks) {
    if (IsExecutableFile(candidate)) return candidate;
  }
  return absl::NotFoundError(absl::StrCat("'", wanted, "' was not found on $PATH",
                                          fallbacks.empty() ? "" : " nor at ",
                                          absl::StrJoin(fallbacks, ", ")));
}

std::string ExitInfo::ToString() const {
  if (signal != 0) return absl::StrFormat("killed by signal %d (%s)", signal, strsignal(signal));
  return absl::StrCat("exit code ", exit_code);
}

// ---------------------------------------------------------------- ProcessHandle

absl::StatusOr<std::unique_ptr<ProcessHandle>> ProcessHandle::Start(ProcessOptions options) {
  if (options.binary.empty()) return absl::InvalidArgumentError("ProcessOptions.binary is empty");
  auto binary = FindExecutable(options.binary);
  if (!binary.ok()) return binary.status();

  std::unique_ptr<ProcessHandle> handle(new ProcessHandle());
  handle->binary_ = *binary;
  handle->log_path_ = options.log_path;
  if (handle->log_path_.empty()) {
    auto dir = MakeTempDir(Basename(*binary));
    if (!dir.ok()) return dir.status();
    handle->owned_dir_ = *dir;
    handle->log_path_ = absl::StrCat(*dir, "/", Basename(*binary), ".log");
  }

  // Everything the child needs is prepared before fork: between fork and
  // exec only async-signal-safe calls are allowed (the parent has threads).
  std::vector<std::string> arg_storage;
  arg_storage.push_back(*binary);
  arg_storage.insert(arg_storage.end(), options.args.begin(), options.args.end());
  std::vector<char*> argv;
  for (std::string& a : arg_storage) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::set<std::string> replaced(options.unset_env.begin(), options.unset_env.end());
  for (const auto& [name, value] : options.env) replaced.insert(name);
  std::vector<std::string> env_storage;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    absl::string_view entry(*e);
    if (replaced.count(std::string(entry.substr(0, entry.find('=')))) == 0) {
      env_storage.emplace_back(entry);
    }
  }
  for (const auto& [name, value] : options.env) env_storage.push_back(absl::StrCat(name, "=", value));
  std::vector<char*> envp;
  for (std::string& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  const int log_fd =
      ::open(handle->log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot open log ", handle->log_path_, ": ", ErrnoText(errno)));
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int exec_error_pipe[2];
  if (null_fd < 0 || ::pipe2(exec_error_pipe, O_CLOEXEC) != 0) {
    int error = errno;
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    return absl::InternalError(absl::StrCat("cannot prepare the child's files: ", ErrnoText(error)));
  }
  long max_fd = ::sysconf(_SC_OPEN_MAX);
  if (max_fd < 0 || max_fd > 65536) max_fd = 65536;
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  sigemptyset(&default_action.sa_mask);
  sigset_t no_signals;
  sigemptyset(&no_signals);
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) {
    int error = errno;
    ::close(log_fd);
    ::close(null_fd);
    ::close(exec_error_pipe[0]);
    ::close(exec_error_pipe[1]);
    return absl::InternalError(absl::StrCat("fork: ", ErrnoText(error)));
  }
  if (pid == 0) {
    // Child. Die with the test, even when it is killed without cleanup.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    // Signals blocked or ignored by the test (gRPC ignores SIGPIPE, servers
    // block SIGTERM) would otherwise survive exec.
    for (int s = 1; s < NSIG; ++s) {
      if (s != SIGKILL && s != SIGSTOP) ::sigaction(s, &default_action, nullptr);
    }
    ::sigprocmask(SIG_SETMASK, &no_signals, nullptr);
    const int targets[3] = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO};
    const int sources[3] = {null_fd, log_fd, log_fd};
    for (int i = 0; i < 3; ++i) {
      if (sources[i] == targets[i]) {
        ::fcntl(targets[i], F_SETFD, 0);
      } else {
        ::dup2(sources[i], targets[i]);
      }
    }
    // No other descriptor of the test (sockets, listeners) leaks into the child.
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
      for (int fd = 3; fd < max_fd; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    ::execve(argv[0], argv.data(), envp.data());
    int error = errno;
    ssize_t ignored = ::write(exec_error_pipe[1], &error, sizeof(error));
    (void)ignored;
    ::_exit(127);
  }

  ::close(exec_error_pipe[1]);
  ::close(log_fd);
  ::close(null_fd);
  handle->pid_ = pid;
  int exec_error = 0;
  ssize_t n;
  do {
    n = ::read(exec_error_pipe[0], &exec_error, sizeof(exec_error));
  } while (n < 0 && errno == EINTR);
  ::close(exec_error_pipe[0]);
  if (n == static_cast<ssize_t>(sizeof(exec_error))) {
    handle->Reap(/*block=*/true);
    return absl::InvalidArgumentError(
        absl::StrCat("cannot execute ", *binary, ": ", ErrnoText(exec_error)));
  }
  return handle;
}

ProcessHandle::~ProcessHandle() {
  if (!owned_dir_.empty()) PrintLogIfTestFailed(Basename(binary_), log_path_);
  if (pid_ > 0 && !exit_info_.has_value()) Kill();
  RemoveTree(owned_dir_);
}

bool ProcessHandle::Reap(bool block) {
  if (exit_info_.has_value()) return true;
  int status = 0;
  pid_t result;
  do {
    result = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (result < 0 && errno == EINTR);
  if (result == 0) return false;
  ExitInfo info;
  if (result == pid_) {
    if (WIFEXITED(status)) info.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) info.signal = WTERMSIG(status);
  }
  // result < 0 (ECHILD): reaped elsewhere; the exit code is unknown (-1).
  exit_info_ = info;
  return true;
}

bool ProcessHandle::IsRunning() { return !Reap(/*block=*/false); }

std::string ProcessHandle::ReadLog(size_t offset) const { return ReadFileFrom(log_path_, offset); }

std::string ProcessHandle::LogTail(size_t max_bytes) const {
  return Tail(ReadFileFrom(log_path_, 0), max_bytes);
}

absl::Status ProcessHandle::Signal(int signal_number) {
  if (!IsRunning()) {
    return absl::FailedPreconditionError(
        absl::StrCat(Basename(binary_), " has already ended: ", exit_info_->ToString()));
  }
  if (::kill(pid_, signal_number) != 0) {
    return absl::InternalError(absl::StrCat("kill(", pid_, "): ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<ExitInfo> ProcessHandle::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!Reap(/*block=*/false)) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(absl::StrCat(Basename(binary_), " (pid ", pid_,
                                                      ") still runs after ",
                                                      absl::FormatDuration(timeout)));
    }
    absl::SleepFor(std::min(left, kPollInterval));
  }
  return *exit_info_;
}

absl::StatusOr<ExitInfo> ProcessHandle::Terminate(absl::Duration timeout) {
  if (!IsRunning()) return *exit_info_;
  ::kill(pid_, SIGTERM);
  ::kill(pid_, SIGCONT);
  auto ended = Wait(timeout);
  if (ended.ok()) return ended;
  ExitInfo killed = Kill();
  return absl::DeadlineExceededError(absl::StrCat(
      Basename(binary_), " ignored SIGTERM for ", absl::FormatDuration(timeout), "; ",
      killed.ToString()));
}

ExitInfo ProcessHandle::Kill() {
  if (IsRunning()) {
    ::kill(pid_, SIGKILL);
    Reap(/*block=*/true);
  }
  return *exit_info_;
}

absl::Status ProcessHandle::WaitForPort(const std::string& host, int port,
                                        absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (!IsRunning()) {
      return absl::FailedPreconditionError(
          absl::StrCat(Basename(binary_), " ended (", exit_info_->ToString(),
                       ") before listening on ", host, ":", port, "; its log:\n", LogTail()));
    }
    if (TryConnect(host, port, absl::Milliseconds(250))) return absl::OkStatus();
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat(Basename(binary_), " did not listen on ", host, ":", port, " within ",
                       absl::FormatDuration(timeout), "; its log:\n", LogTail()));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

// ----------------------------------------------------------- RedisServerProcess

bool ClusterTestsRequested() {
  const char* value = std::getenv("ECOACT_TEST_REDIS_CLUSTER");
  return value != nullptr && std::string(value) == "1";
}

absl::StatusOr<std::unique_ptr<RedisServerProcess>> RedisServerProcess::Start(
    RedisServerOptions options) {
  if (options.cluster_primaries == 0 && !options.standalone && ClusterTestsRequested()) {
    options.cluster_primaries = 3;
    // No replicas here: a primary marked failing would take the whole
    // cluster down, so give a busy test machine time before that.
    options.cluster_node_timeout = std::max(options.cluster_node_timeout, absl::Seconds(5));
    // The servers a test starts find the cluster with --redis=address()
    // (or ECOACT_REDIS): they need cluster mode too.
    ::setenv("ECOACT_REDIS_CLUSTER", "true", 1);
  }
  if (options.cluster_primaries > 0) {
    // First, so that a test's own extra_args still win.
    std::vector<std::string> cluster_args = {
        "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
        "--cluster-node-timeout",
        absl::StrCat(absl::ToInt64Milliseconds(options.cluster_node_timeout))};
    options.extra_args.insert(options.extra_args.begin(), cluster_args.begin(),
                              cluster_args.end());
  }
  std::unique_ptr<RedisServerProcess> server(new RedisServerProcess(std::move(options)));
  auto binary = FindExecutable(
      server->options_.binary.empty() ? "redis-server" : server->options_.binary,
      {"/usr/bin/redis-server", "/usr/local/bin/redis-server"});
  if (!binary.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        binary.status().message(),
        "; integration tests need a real redis-server (scripts/setup.sh installs it)"));
  }
  server->binary_ = *binary;
  auto dir = MakeTempDir("redis");
  if (!dir.ok()) return dir.status();
  server->dir_ = *dir;

  absl::Status last = absl::UnavailableError("no attempt made");
  const bool cluster_node = std::find(server->options_.extra_args.begin(),
                                      server->options_.extra_args.end(),
                                      "--cluster-enabled") != server->options_.extra_args.end();
  for (int attempt = 0; attempt < kRedisPortAttempts; ++attempt) {
    auto port = PickFreePort();
    if (!port.ok()) return port.status();
    if (cluster_node) {
      // The cluster bus listens on a port of its own (default: port + 10000,
      // often out of range or taken for an ephemeral port).
      auto bus_port = PickFreePort();
      if (!bus_port.ok()) return bus_port.status();
      server->bus_port_ = *bus_port;
    }
    bool port_taken = false;
    last = server->Launch(*port, &port_taken);
    if (last.ok()) {
      server->port_ = *port;
      if (server->options_.cluster_primaries > 0) {
        absl::Status formed = server->FormCluster();
        if (!formed.ok()) return formed;
      }
      return server;
    }
    if (!port_taken) break;
  }
  return last;
}

RedisServerProcess::~RedisServerProcess() {
  PrintLogIfTestFailed("redis-server", log_path());
  if (process_ != nullptr) (void)process_->Terminate(absl::Seconds(5));
  process_.reset();
  RemoveTree(dir_);
}

std::string RedisServerProcess::address() const {
  std::string address = absl::StrCat(host(), ":", port_);
  for (const auto& peer : peers_) absl::StrAppend(&address, ",", peer->host(), ":", peer->port());
  return address;
}

RedisOptions RedisServerProcess::client_options() const {
  RedisOptions options;
  options.host = host();
  options.port = port_;
  options.cluster = is_cluster();
  options.password = options_.password;
  for (const auto& peer : peers_) {
    options.cluster_seeds.push_back(absl::StrCat(peer->host(), ":", peer->port()));
  }
  return options;
}

std::vector<RedisServerProcess*> RedisServerProcess::nodes() {
  std::vector<RedisServerProcess*> all = {this};
  for (const auto& peer : peers_) all.push_back(peer.get());
  return all;
}

absl::Status RedisServerProcess::FormCluster() {
  const int total = options_.cluster_primaries * (1 + options_.cluster_replicas);
  RedisServerOptions peer_options = options_;  // with the cluster arguments
  peer_options.cluster_primaries = 0;
  peer_options.standalone = true;
  for (int i = 1; i < total; ++i) {
    auto peer = RedisServerProcess::Start(peer_options);
    if (!peer.ok()) return peer.status();
    peers_.push_back(*std::move(peer));
  }
  auto cli = FindExecutable("redis-cli", {"/usr/bin/redis-cli", "/usr/local/bin/redis-cli"});
  if (!cli.ok()) return cli.status();
  ProcessOptions create;
  create.binary = *cli;
  create.args = {"--cluster", "create"};
  for (RedisServerProcess* node : nodes()) {
    create.args.push_back(absl::StrCat(node->host(), ":", node->port()));
  }
  create.args.insert(create.args.end(), {"--cluster-replicas",
                                         absl::StrCat(options_.cluster_replicas), "--cluster-yes"});
  create.log_path = absl::StrCat(dir_, "/cluster-create.log");
  // From the environment rather than -a: no "using a password on the
  // command line" warning, and not in ps.
  if (!options_.password.empty()) create.env["REDISCLI_AUTH"] = options_.password;
  auto process = ProcessHandle::Start(create);
  if (!process.ok()) return process.status();
  auto ended = (*process)->Wait(absl::Seconds(60));
  if (!ended.ok() || !ended->Success()) {
    return absl::UnavailableError(absl::StrCat("redis-cli --cluster create failed: ",
                                               Tail(ReadFileFrom(create.log_path, 0), 2048)));
  }
  return WaitForClusterReady();
}

namespace {

// "first-last:port ..." as the node at `port` sees the slot map, or "" if
// its state is not ok (or it does not answer).
std::string ClusterView(int port, const std::string& password) {
  redisContext* context = ConnectToTestRedis(port, absl::Milliseconds(500), password);
  if (context == nullptr) return "";
  std::string view;
  if (context->err == 0) {
    auto* info = static_cast<redisReply*>(redisCommand(context, "CLUSTER INFO"));
    const bool ok = info != nullptr && info->type == REDIS_REPLY_STRING &&
                    absl::StrContains(absl::string_view(info->str, info->len), "cluster_state:ok");
    if (info != nullptr) freeReplyObject(info);
    auto* slots = ok ? static_cast<redisReply*>(redisCommand(context, "CLUSTER SLOTS")) : nullptr;
    if (slots != nullptr && slots->type == REDIS_REPLY_ARRAY) {
      std::vector<std::string> ranges;
      int64_t covered = 0;
      for (size_t i = 0; i < slots->elements; ++i) {
        const redisReply* range = slots->element[i];
        if (range->elements < 3) continue;
        covered += range->element[1]->integer - range->element[0]->integer + 1;
        ranges.push_back(absl::StrCat(range->element[0]->integer, "-", range->element[1]->integer,
                                      ":", range->element[2]->element[1]->integer));
      }
      std::sort(ranges.begin(), ranges.end());
      if (covered == 16384) view = absl::StrJoin(ranges, " ");
    }
    if (slots != nullptr) freeReplyObject(slots);
  }
  redisFree(context);
  return view;
}

// False while the node cannot be asked, or is a replica whose link to its
// primary is not up (ROLE: "slave", host, port, state, offset).
bool ReplicaLinkUp(int port, const std::string& password) {
  redisContext* context = ConnectToTestRedis(port, absl::Milliseconds(500), password);
  if (context == nullptr) return false;
  bool up = false;
  if (context->err == 0) {
    auto* role = static_cast<redisReply*>(redisCommand(context, "ROLE"));
    if (role != nullptr && role->type == REDIS_REPLY_ARRAY && role->elements > 0) {
      const std::string kind(role->element[0]->str, role->element[0]->len);
      up = kind != "slave" ||
           (role->elements > 3 && role->element[3]->type == REDIS_REPLY_STRING &&
            absl::string_view(role->element[3]->str, role->element[3]->len) == "connected");
    }
    if (role != nullptr) freeReplyObject(role);
  }
  redisFree(context);
  return up;
}

}  // namespace

absl::Status RedisServerProcess::WaitForReplicasSynced(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    bool synced = true;
    for (RedisServerProcess* node : nodes()) {
      synced = synced && ReplicaLinkUp(node->port(), options_.password);
    }
    if (synced) return absl::OkStatus();
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "the replicas did not synchronise with their primaries within ",
          absl::FormatDuration(timeout)));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

absl::Status RedisServerProcess::WaitForClusterReady(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string last;
  while (true) {
    std::set<std::string> views;
    bool ready = true;
    for (RedisServerProcess* node : nodes()) {
      if (!node->IsRunning()) continue;
      std::string view = ClusterView(node->port(), options_.password);
      if (view.empty()) ready = false;
      last = view;
      views.insert(std::move(view));
    }
    if (ready && views.size() == 1) return absl::OkStatus();
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "the Redis Cluster did not agree on a full slot map within ",
          absl::FormatDuration(timeout), "; last view: '", last, "'"));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

std::string RedisServerProcess::log_path() const {
  return dir_.empty() ? "" : absl::StrCat(dir_, "/redis.log");
}

std::string RedisServerProcess::ReadLog() const { return ReadFileFrom(log_path(), 0); }

pid_t RedisServerProcess::pid() const { return process_ != nullptr ? process_->pid() : -1; }

bool RedisServerProcess::IsRunning() { return process_ != nullptr && process_->IsRunning(); }

std::vector<std::string> RedisServerProcess::Arguments(int port) const {
  std::vector<std::string> args = {
      "--port", absl::StrCat(port), "--bind", "127.0.0.1", "--dir", dir_,
      "--daemonize", "no", "--logfile", "",  // "" = stdout, i.e. our log file
      "--save", "",                          // no RDB snapshots
  };
  if (options_.appendonly) {
    args.insert(args.end(), {"--appendonly", "yes", "--appendfsync", "always"});
  } else {
    args.insert(args.end(), {"--appendonly", "no"});
  }
  if (bus_port_ > 0) args.insert(args.end(), {"--cluster-port", absl::StrCat(bus_port_)});
  if (options_.enable_debug_command) {
    args.insert(args.end(), {"--enable-debug-command", "local"});
  }
  if (!options_.password.empty()) {
    args.insert(args.end(),
                {"--requirepass", options_.password, "--masterauth", options_.password});
  }
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  return args;
}

absl::Status RedisServerProcess::Launch(int port, bool* port_taken) {
  *port_taken = false;
  const size_t log_offset = FileSize(log_path());
  ProcessOptions process_options;
  process_options.binary = binary_;
  process_options.args = Arguments(port);
  process_options.log_path = log_path();
  auto started = ProcessHandle::Start(std::move(process_options));
  if (!started.ok()) return started.status();
  std::unique_ptr<ProcessHandle> process = std::move(*started);

  const absl::Time deadline = absl::Now() + options_.startup_timeout;
  while (true) {
    if (!process->IsRunning()) {
      std::string log = process->ReadLog(log_offset);
      *port_taken = absl::StrContains(log, "Address already in use");
      return absl::UnavailableError(absl::StrCat("redis-server on port ", port, " ended at start-up (",
                                                 process->exit_info()->ToString(), "): ",
                                                 Tail(log, 2048)));
    }
    if (RedisAnswers(port, process->pid(), options_.password)) {
      process_ = std::move(process);
      return absl::OkStatus();
    }
    if (absl::Now() >= deadline) {
      process->Kill();
      return absl::DeadlineExceededError(
          absl::StrCat("redis-server on port ", port, " did not answer PING within ",
                       absl::FormatDuration(options_.startup_timeout), ": ",
                       Tail(process->ReadLog(log_offset), 2048)));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

absl::Status RedisServerProcess::Stop() {
  for (auto& peer : peers_) {
    absl::Status stopped = peer->Stop();
    if (!stopped.ok()) return stopped;
  }
  if (process_ == nullptr) return absl::OkStatus();
  auto ended = process_->Terminate(absl::Seconds(10));
  process_.reset();
  return ended.ok() ? absl::OkStatus() : ended.status();
}

void RedisServerProcess::Kill() {
  for (auto& peer : peers_) peer->Kill();
  if (process_ == nullptr) return;
  process_->Kill();
  process_.reset();
}

absl::Status RedisServerProcess::Pause() {
  for (auto& peer : peers_) {
    absl::Status paused = peer->Pause();
    if (!paused.ok()) return paused;
  }
  if (process_ == nullptr) return absl::FailedPreconditionError("redis-server is stopped");
  return process_->Signal(SIGSTOP);
}

absl::Status RedisServerProcess::Resume() {
  for (auto& peer : peers_) {
    absl::Status resumed = peer->Resume();
    if (!resumed.ok()) return resumed;
  }
  if (process_ == nullptr) return absl::FailedPreconditionError("redis-server is stopped");
  return process_->Signal(SIGCONT);
}

absl::Status RedisServerProcess::Restart() {
  absl::Status stopped = Stop();
  if (!stopped.ok()) return stopped;
  // The port was ours a moment ago; if something grabbed it meanwhile, wait
  // a little for it to go rather than move (clients know this port).
  const absl::Time deadline = absl::Now() + options_.startup_timeout;
  while (true) {
    bool port_taken = false;
    absl::Status launched = Launch(port_, &port_taken);
    if (launched.ok() && is_cluster()) {
      // Each node comes back with its nodes.conf; the cluster re-forms.
      for (auto& peer : peers_) {
        absl::Status restarted = peer->Restart();
        if (!restarted.ok()) return restarted;
      }
      return WaitForClusterReady();
    }
    if (launched.ok() || !port_taken || absl::Now() >= deadline) return launched;
    absl::SleepFor(absl::Milliseconds(100));
  }
}

}  // namespace ecoact::test
