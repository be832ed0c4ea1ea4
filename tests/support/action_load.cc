#include "tests/support/action_load.h"

#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "ecoact/v1/actions.grpc.pb.h"
#include "ecoact/v1/identity.grpc.pb.h"
#include "services/common/ledger_format.h"
#include "tests/support/server_process.h"

namespace ecoact::test {
namespace {

// Types with daily caps of 30 kg / 200 km: a citizen can log hundreds of
// these small actions a day without meeting a cap.
struct LoadActionType {
  const char* type;
  double quantity;
};
constexpr LoadActionType kTypes[] = {{"clothing_reuse", 0.1},
                                     {"train_instead_of_car", 1},
                                     {"clothing_recycling", 0.1},
                                     {"paper_cardboard", 0.1}};

bool Retryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::RESOURCE_EXHAUSTED;
}

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    default: return "OTHER";
  }
}

absl::Duration Backoff(int attempt) {
  return std::min(absl::Milliseconds(50) * (1 << std::min(attempt, 4)), absl::Milliseconds(500));
}

}  // namespace

std::shared_ptr<grpc::Channel> FastReconnectChannel(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

std::string LoadStats::ToString() const {
  std::vector<std::string> failed;
  for (const auto& [code, count] : codes) failed.push_back(absl::StrCat(code, "=", count));
  return absl::StrCat("sent=", sent, " acked=", acked, " (replayed=", replayed,
                      ") attempts=", attempts, " failed_attempts={", absl::StrJoin(failed, ","),
                      "} gave_up=", gave_up, " rejected=", rejected,
                      " slowest_call_ms=", absl::ToInt64Milliseconds(slowest_call));
}

std::string LedgerCheck::ToString() const {
  return absl::StrCat("acked=", acked, " found=", found, " lost=", lost, " doubled=", doubled,
                      " ledger_entries=", ledger_entries, " unacknowledged_in_ledger=",
                      unacknowledged);
}

std::string ProjectionCheck::ToString() const {
  return absl::StrCat("citizens=", citizens, " totals_match=", totals_match,
                      " boards_match=", boards_match,
                      first_mismatch.empty() ? "" : " first_mismatch: ", first_mismatch);
}

ActionLoad::ActionLoad(LoadOptions options) : options_(std::move(options)) {}

ActionLoad::~ActionLoad() { Stop(); }

absl::StatusOr<std::unique_ptr<ActionLoad>> ActionLoad::Create(LoadOptions options) {
  std::unique_ptr<ActionLoad> load(new ActionLoad(std::move(options)));
  load->channel_ = FastReconnectChannel(load->options_.target);
  auto identity = v1::IdentityService::NewStub(load->channel_);
  const std::string run = UniqueKeyPrefix();
  for (int i = 0; i < load->options_.citizens; ++i) {
    v1::RegisterRequest request;
    request.set_request_id(absl::StrCat("load-register-", run, "-", i));
    request.set_nickname(absl::StrCat("Load", i));
    request.set_ward(i % 2 == 0 ? "nakahara" : "tama");
    v1::RegisterResponse response;
    grpc::Status status;
    for (int attempt = 0; attempt < 50; ++attempt) {
      status = identity->Register(CallContext("", load->options_.call_deadline).get(), request,
                                  &response);
      if (!Retryable(status.error_code())) break;
      absl::SleepFor(Backoff(attempt));
    }
    if (!status.ok()) {
      return absl::UnavailableError(
          absl::StrCat("load: cannot register citizen ", i, ": ", status.error_message()));
    }
    load->citizens_.push_back({response.account_id(), response.token()});
  }
  return load;
}

void ActionLoad::Start() {
  for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this, i] { Run(i); });
}

void ActionLoad::Stop() {
  stopping_.store(true);
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

bool ActionLoad::WaitForAcked(int64_t count, absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  while (acked_count_.load() < count) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

LoadStats ActionLoad::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

std::vector<AckedAction> ActionLoad::acked() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return acked_;
}

void ActionLoad::Run(int thread_index) {
  // Thread t uses citizens t, t + threads, ...: no two threads share one, so
  // each citizen's actions are sequential, as from one phone.
  std::vector<const LoadCitizen*> mine;
  for (size_t i = thread_index; i < citizens_.size(); i += options_.threads) {
    mine.push_back(&citizens_[i]);
  }
  if (mine.empty()) return;
  for (int64_t sequence = 0; !stopping_.load(); ++sequence) {
    RecordOne(*mine[sequence % mine.size()], sequence, thread_index);
    absl::SleepFor(options_.think_time);
  }
}

void ActionLoad::RecordOne(const LoadCitizen& citizen, int64_t sequence, int thread_index) {
  const LoadActionType& type = kTypes[(sequence / options_.threads + thread_index) % 4];
  v1::RecordActionRequest request;
  request.set_request_id(absl::StrCat("load-", citizen.account_id, "-", thread_index, "-", sequence));
  request.set_action_type(type.type);
  request.set_quantity(type.quantity);
  Record(citizen, request);
}

bool ActionLoad::Record(const LoadCitizen& citizen, const v1::RecordActionRequest& request) {
  auto stub = v1::ActionsService::NewStub(channel_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.sent;
  }
  const absl::Time started = absl::Now();
  for (int attempt = 0;; ++attempt) {
    v1::RecordActionResponse response;
    const absl::Time call_start = absl::Now();
    grpc::Status status = stub->RecordAction(
        CallContext(citizen.token, options_.call_deadline).get(), request, &response);
    const absl::Duration took = absl::Now() - call_start;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.attempts;
      stats_.slowest_call = std::max(stats_.slowest_call, took);
      if (status.ok()) {
        ++stats_.acked;
        if (response.replayed()) ++stats_.replayed;
        acked_.push_back({request.request_id(), citizen.account_id, response.entry().entry_id(),
                          response.entry().co2e_grams(), response.entry().points()});
        acked_count_.fetch_add(1);
        return true;
      }
      ++stats_.codes[CodeName(status.error_code())];
      if (!Retryable(status.error_code())) {
        ++stats_.rejected;
        if (stats_.first_rejection.empty()) {
          stats_.first_rejection = absl::StrCat(status.error_code(), ": ", status.error_message());
        }
        return false;
      }
      if (absl::Now() - started > options_.give_up_after) {
        ++stats_.gave_up;
        return false;
      }
    }
    absl::SleepFor(Backoff(attempt));
  }
}

absl::StatusOr<LedgerCheck> CheckLedger(RedisClient& redis, const KeySpace& keys,
                                        const ActionLoad& load) {
  std::set<std::string> accounts;
  for (const LoadCitizen& citizen : load.citizens()) accounts.insert(citizen.account_id);
  std::map<std::string, std::vector<std::string>> entries_by_request;
  LedgerCheck check;
  for (int shard = 0; shard < keys.shards(); ++shard) {
    absl::Status read = ForEachLedgerEntry(
        &redis, keys.Ledger(shard), [&](const StoredEntry& stored) -> absl::Status {
          if (accounts.count(stored.account_id) == 0) return absl::OkStatus();
          ++check.ledger_entries;
          entries_by_request[stored.entry.request_id()].push_back(stored.entry.entry_id());
          auto& sums = check.grams_and_points[stored.account_id];
          sums.first += stored.entry.co2e_grams();
          sums.second += stored.entry.points();
          return absl::OkStatus();
        });
    if (!read.ok()) return read;
  }
  std::set<std::string> acked_ids;
  for (const AckedAction& action : load.acked()) {
    ++check.acked;
    // The same request acknowledged twice (a retry whose first reply was
    // lost) must name the same entry.
    if (!acked_ids.insert(action.request_id).second) continue;
    auto it = entries_by_request.find(action.request_id);
    if (it != entries_by_request.end() && it->second.front() == action.entry_id) {
      ++check.found;
    } else {
      ++check.lost;
    }
  }
  check.acked = static_cast<int64_t>(acked_ids.size());
  for (const auto& [request_id, entries] : entries_by_request) {
    if (entries.size() > 1) check.doubled += static_cast<int64_t>(entries.size()) - 1;
    if (acked_ids.count(request_id) == 0) ++check.unacknowledged;
  }
  return check;
}

ProjectionCheck CheckProjections(RedisClient& redis, const KeySpace& keys,
                                 const ActionLoad& load, const LedgerCheck& ledger,
                                 absl::Duration timeout) {
  ProjectionCheck check;
  auto actions = v1::ActionsService::NewStub(load.channel());
  const absl::Time deadline = absl::Now() + timeout;
  for (const LoadCitizen& citizen : load.citizens()) {
    ++check.citizens;
    auto sums_it = ledger.grams_and_points.find(citizen.account_id);
    const std::pair<int64_t, int64_t> sums =
        sums_it == ledger.grams_and_points.end() ? std::make_pair(int64_t{0}, int64_t{0})
                                                 : sums_it->second;
    v1::GetMyImpactResponse impact;
    grpc::Status status =
        actions->GetMyImpact(CallContext(citizen.token).get(), v1::GetMyImpactRequest(), &impact);
    if (status.ok() && impact.totals_size() > 0 &&
        impact.totals(0).co2e_grams() == sums.first && impact.totals(0).points() == sums.second) {
      ++check.totals_match;
    } else if (check.first_mismatch.empty()) {
      check.first_mismatch = absl::StrCat(
          "GetMyImpact of ", citizen.account_id, ": ", status.error_message(), " ",
          impact.totals_size() > 0 ? impact.totals(0).ShortDebugString() : "", " ledger grams=",
          sums.first, " points=", sums.second);
    }
    // The projector sets board scores from the totals a moment after the
    // ledger entry; poll until it has.
    std::string co2_score, points_score;
    while (true) {
      auto replies = redis.Pipeline({{"ZSCORE", keys.Board("city::all:co2"), citizen.account_id},
                                     {"ZSCORE", keys.Board("city::all:pts"), citizen.account_id}});
      if (replies.ok()) {
        co2_score = (*replies)[0].AsString().value_or("?");
        points_score = (*replies)[1].AsString().value_or("?");
        if (co2_score == absl::StrCat(sums.first) && points_score == absl::StrCat(sums.second)) {
          ++check.boards_match;
          break;
        }
      }
      if (absl::Now() > deadline) {
        if (check.first_mismatch.empty()) {
          check.first_mismatch =
              absl::StrCat("board scores of ", citizen.account_id, ": co2=", co2_score,
                           " points=", points_score, ", ledger grams=", sums.first,
                           " points=", sums.second);
        }
        break;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
  }
  return check;
}

int ThreadCount(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::atoi(line.c_str() + 8);
  }
  return -1;
}

}  // namespace ecoact::test
