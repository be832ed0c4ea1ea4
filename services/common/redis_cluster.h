// The cluster mode of RedisClient (redis.h), internal to services/common:
// callers only see RedisClient. docs/operations.md "Redis Cluster" says what
// it does on MOVED, ASK and failover; this file says how.
//
// State: the slot map (16384 entries, each the client of the primary that
// serves the slot) and one standalone RedisClient per node address ever
// seen. Node clients are never destroyed before this object, so a callback
// in flight can always use the client it captured; a node that left the
// cluster just stops being routed to.
//
// A call is a Job: its commands, their replies in order, and its done. Each
// round plans the commands still to run onto nodes (a MULTI...EXEC block
// stays together on the node of its first key; SCRIPT LOAD & co go to every
// primary), sends one pipeline per node concurrently, and when the last node
// answers, either completes the job or runs another round for the commands
// that were redirected (MOVED: the slot map is updated; ASK: ASKING first,
// map unchanged) or whose node failed (reads only, after a map refresh).
// Redirects are followed whatever happened to the other nodes of the round.
//
// The map refresh after a node failure connects to nodes synchronously (a
// dead host costs up to connect_timeout each), so it never runs on a node's
// I/O thread (pipelined mode), where it would hold up every reply of that
// node: the round that saw the failure hands its retry to the refresher
// thread, which fetches the map once for all the retries queued meanwhile
// and then sends them. In pool mode a call runs on its caller's thread,
// which refreshes and retries itself. A MOVED needs no refresh first (the
// reply names the slot's node): the map is refreshed in the background.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/redis.h"

namespace ecoact {

class RedisClient::Cluster {
 public:
  explicit Cluster(const RedisOptions& options);
  ~Cluster();

  void PipelineAsync(const std::vector<std::vector<std::string>>& commands,
                     RedisPipelineCallback done);
  // OK if the slot map covers every slot and every primary answers PONG.
  absl::Status Ping();
  absl::StatusOr<std::vector<RedisClient*>> Primaries();

 private:
  struct Job;
  struct Round;

  void Start(std::shared_ptr<Job> job);
  // Sends `indices` of the job (ascending; ASK targets in `ask`).
  void Send(const std::shared_ptr<Job>& job, std::vector<size_t> indices,
            std::map<size_t, std::string> ask);
  void Finish(const std::shared_ptr<Job>& job, Round& round);
  // Runs `task` on the refresher thread after a map refresh (forced if
  // `force`, else at most one every 100 ms) that started after the call;
  // false once the destructor has begun (the caller fails the job instead).
  bool AfterRefresh(bool force, std::function<void()> task);
  void RefresherLoop();
  // A multi-slot XREAD/XREADGROUP split into one read per slot.
  void ReadAcrossSlots(const std::vector<std::string>& command, size_t streams_at,
                       RedisPipelineCallback done);
  void BlockingReads(std::shared_ptr<std::vector<std::vector<std::string>>> parts, size_t next,
                     absl::Time deadline, RedisPipelineCallback done);

  // CLUSTER SLOTS from the first seed or known node that answers; at most
  // one every 100 ms unless `force` (concurrent callers share one).
  absl::Status Refresh(bool force);
  // The client of the node at "host:port", created on first use.
  RedisClient* Node(const std::string& address);
  RedisClient* NodeLocked(const std::string& address);
  // The node serving `slot`, refreshing the map first if it is unknown.
  absl::StatusOr<RedisClient*> NodeForSlot(int slot);
  std::vector<RedisClient*> PrimariesLocked() const;

  const RedisOptions options_;
  std::vector<std::string> seeds_;

  std::mutex mutex_;  // guards nodes_, slots_, stale_
  std::map<std::string, std::unique_ptr<RedisClient>> nodes_;
  std::vector<RedisClient*> slots_;  // kSlots entries; null: not known
  bool stale_ = true;  // refresh before the next round (a MOVED was seen)

  std::mutex refresh_mutex_;  // one CLUSTER SLOTS at a time
  absl::Time last_refresh_ = absl::InfinitePast();
  absl::Time refused_until_ = absl::InfinitePast();  // guarded by refresh_mutex_
  absl::Status refusal_;                              // guarded by refresh_mutex_

  std::mutex tasks_mutex_;  // guards tasks_, force_, stopping_
  std::condition_variable tasks_ready_;
  std::deque<std::function<void()>> tasks_;
  bool force_ = false;
  bool stopping_ = false;
  // Set first thing in the destructor: a job whose replies arrive while the
  // nodes are being destroyed fails instead of being sent again (Send and
  // Finish would reach nodes already freed).
  std::atomic<bool> closing_{false};
  std::thread refresher_;
};

}  // namespace ecoact
