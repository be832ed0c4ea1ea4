// Real processes for integration and end-to-end tests: a private
// redis-server on a free loopback port, and any other binary (the servers
// under test) with its output captured in a log file.
//
// Every process started here gets SIGKILL when the thread that started it
// exits (PR_SET_PDEATHSIG), so a crashed or timed-out test leaves nothing
// running. Start processes from the test's main thread, or from a thread that
// outlives them.
//
// When the current test has failed, destructors print the tail of each
// process's log to stderr before cleaning up, so `ctest --output-on-failure`
// shows what the server said.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/redis.h"

namespace ecoact::test {

// A key prefix no other test process or earlier call uses: "t<pid>n<count>".
std::string UniqueKeyPrefix();

// A new empty directory under the test temp dir ($TEST_TMPDIR, $TMPDIR or
// /tmp), named after `label`.
absl::StatusOr<std::string> MakeTempDir(absl::string_view label);

// A loopback port that nothing listened on a moment ago. Another process may
// still take it before the caller binds it, so callers retry on collision.
absl::StatusOr<int> PickFreePort();

// OK once a TCP connection to host:port succeeds; DEADLINE_EXCEEDED after
// `timeout`.
absl::Status WaitForPort(const std::string& host, int port, absl::Duration timeout);

// `name` if it contains a '/', else the first executable `name` on $PATH,
// else the first existing `fallbacks` entry; NOT_FOUND otherwise.
absl::StatusOr<std::string> FindExecutable(absl::string_view name,
                                           const std::vector<std::string>& fallbacks = {});

struct ExitInfo {
  int exit_code = -1;  // valid when signal == 0
  int signal = 0;      // the terminating signal, or 0 after a normal exit
  bool Success() const { return signal == 0 && exit_code == 0; }
  std::string ToString() const;  // "exit code 3", "killed by signal 9 (Killed)"
};

struct ProcessOptions {
  // A path, or a name looked up on $PATH.
  std::string binary;
  // argv[1...].
  std::vector<std::string> args;
  // Set (or replace) in the inherited environment.
  std::map<std::string, std::string> env;
  // Unset from the inherited environment (e.g. ECOACT_* of the developer).
  std::vector<std::string> unset_env;
  // stdout and stderr, appended. Empty: "<binary name>.log" in a new temp
  // directory that the handle removes when destroyed.
  std::string log_path;
};

// A child process started with fork/exec.
class ProcessHandle {
 public:
  // INVALID_ARGUMENT/NOT_FOUND if the binary cannot be executed (exec's
  // error is reported, not a silent exit code 127).
  static absl::StatusOr<std::unique_ptr<ProcessHandle>> Start(ProcessOptions options);

  // Kills the process if it still runs, and removes the temp dir it created.
  ~ProcessHandle();
  ProcessHandle(const ProcessHandle&) = delete;
  ProcessHandle& operator=(const ProcessHandle&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  // Everything the process wrote so far (from byte `offset` of the log).
  std::string ReadLog(size_t offset = 0) const;
  // At most the last `max_bytes` of the log.
  std::string LogTail(size_t max_bytes = 4096) const;

  // False once the process has exited (it is reaped then).
  bool IsRunning();
  // How it ended, once it has.
  std::optional<ExitInfo> exit_info() const { return exit_info_; }

  // Sends `signal_number` (kill(2)); FAILED_PRECONDITION if it has exited.
  absl::Status Signal(int signal_number);

  // Waits for the process to end; DEADLINE_EXCEEDED if it still runs after
  // `timeout` (it is left running).
  absl::StatusOr<ExitInfo> Wait(absl::Duration timeout);

  // SIGTERM (and SIGCONT, in case it is paused), then waits up to `timeout`
  // for a graceful exit. If it does not exit in time it is killed and the
  // result is DEADLINE_EXCEEDED.
  absl::StatusOr<ExitInfo> Terminate(absl::Duration timeout = absl::Seconds(10));

  // SIGKILL and reap: for fault tests (a crash, a power cut).
  ExitInfo Kill();

  // Like the free WaitForPort, but fails at once with the log tail if the
  // process exits first.
  absl::Status WaitForPort(const std::string& host, int port, absl::Duration timeout);

 private:
  ProcessHandle() = default;
  bool Reap(bool block);

  pid_t pid_ = -1;
  std::string binary_;
  std::string log_path_;
  std::string owned_dir_;  // removed by the destructor when not empty
  std::optional<ExitInfo> exit_info_;
};

struct RedisServerOptions {
  // `appendonly yes` + `appendfsync always`, as in production (DESIGN.md,
  // invariant 1), so a Kill() loses nothing that was acknowledged. Off:
  // `--save "" --appendonly no` (nothing written to disk).
  bool appendonly = false;
  // Allow DEBUG (e.g. DEBUG SLEEP to make Redis slow) from loopback.
  bool enable_debug_command = true;
  // Empty: redis-server on $PATH, else /usr/bin/redis-server.
  std::string binary;
  // More "--name value" arguments, appended last (they win).
  std::vector<std::string> extra_args;
  // How long to wait for PING to answer PONG at start and restart.
  absl::Duration startup_timeout = absl::Seconds(5);
  // A Redis Cluster of this many primaries (each with `cluster_replicas`
  // replicas) instead of one server, made with `redis-cli --cluster create`.
  // 0: one server, unless the environment has ECOACT_TEST_REDIS_CLUSTER=1,
  // which turns every RedisServerProcess of the tests into a cluster of 3
  // primaries (and sets ECOACT_REDIS_CLUSTER=true for the servers the test
  // starts): the integration suite's second pass (scripts/test.sh).
  int cluster_primaries = 0;
  int cluster_replicas = 0;
  // --cluster-node-timeout: how long a primary may be unreachable before
  // its replica takes over.
  absl::Duration cluster_node_timeout = absl::Milliseconds(1000);
  // Never a cluster, whatever the environment says (tests of one server's
  // behaviour).
  bool standalone = false;
  // `--requirepass` (and `--masterauth`, for a cluster's replicas): clients
  // must AUTH with it. The harness's own connections (start-up PING, cluster
  // create and checks) log in with it and client_options() carries it.
  // Empty (the default): no password. ACL users: `--user ...` in extra_args.
  std::string password;
};

// True if ECOACT_TEST_REDIS_CLUSTER=1: RedisServerProcess::Start() makes
// clusters.
bool ClusterTestsRequested();

// A private redis-server bound to 127.0.0.1 on a free port, with its data
// directory and log in a unique temp dir. Integration tests never assume a
// Redis is already running.
class RedisServerProcess {
 public:
  static absl::StatusOr<std::unique_ptr<RedisServerProcess>> Start(
      RedisServerOptions options = {});

  // Stops the server and removes the temp dir.
  ~RedisServerProcess();
  RedisServerProcess(const RedisServerProcess&) = delete;
  RedisServerProcess& operator=(const RedisServerProcess&) = delete;

  int port() const { return port_; }
  std::string host() const { return "127.0.0.1"; }
  // "127.0.0.1:PORT", the form --redis and ECOACT_REDIS take; for a cluster
  // every node's address, separated by commas (with --redis_cluster).
  std::string address() const;
  // Client options pointing at this server (other fields at their defaults,
  // the password of RedisServerOptions set); for a cluster, `cluster` set and
  // every node a seed.
  RedisOptions client_options() const;

  // A cluster: this object is its first node and starts, stops, kills,
  // pauses and restarts all of them. nodes() lists them all (this first),
  // for tests that act on one node (kill a primary, migrate a slot).
  bool is_cluster() const { return !peers_.empty(); }
  std::vector<RedisServerProcess*> nodes();
  // OK once every running node says cluster_state:ok and serves every slot
  // in its view; DEADLINE_EXCEEDED after `timeout`.
  absl::Status WaitForClusterReady(absl::Duration timeout = absl::Seconds(20));
  // OK once every node answers and every replica's link to its primary is
  // up (ROLE says "connected"): only then can a replica take over.
  absl::Status WaitForReplicasSynced(absl::Duration timeout = absl::Seconds(30));
  const std::string& data_dir() const { return dir_; }
  std::string log_path() const;
  // The server's log (all runs, restarts included).
  std::string ReadLog() const;
  // The pid of the current run, or -1 when stopped.
  pid_t pid() const;

  bool IsRunning();

  // SIGTERM, then waits for the exit (SIGKILL after 10 s, reported as
  // DEADLINE_EXCEEDED). No-op when already stopped.
  absl::Status Stop();
  // SIGKILL: a crash. With appendonly, acknowledged writes survive Restart().
  void Kill();
  // SIGSTOP / SIGCONT: Redis hangs (accepts connections, never answers) until
  // resumed; for timeout and health tests.
  absl::Status Pause();
  absl::Status Resume();
  // Stops the server if it runs, then starts it again on the same port with
  // the same data dir, and waits for PING.
  absl::Status Restart();

 private:
  explicit RedisServerProcess(RedisServerOptions options) : options_(std::move(options)) {}
  std::vector<std::string> Arguments(int port) const;
  // Starts redis-server on `port` and waits for PONG. `*port_taken` is set
  // when the port was in use.
  absl::Status Launch(int port, bool* port_taken);
  // Turns this started node and `options_.cluster_primaries` x (1 +
  // replicas) - 1 new peers into one cluster.
  absl::Status FormCluster();

  RedisServerOptions options_;
  std::string binary_;
  std::string dir_;
  int port_ = 0;
  int bus_port_ = 0;  // cluster nodes: --cluster-port
  std::unique_ptr<ProcessHandle> process_;
  std::vector<std::unique_ptr<RedisServerProcess>> peers_;
};

}  // namespace ecoact::test
