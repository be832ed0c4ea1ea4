// Storage of accounts in Redis: one hash per account in its shard's slot
// (keys.h). Read also by the actions service (ward and team stamped on each
// ledger entry) and the leaderboard (nicknames).
#pragma once

#include <optional>

#include "absl/status/statusor.h"
#include "services/common/keys.h"
#include "services/common/redis.h"
#include "services/identity/accounts.h"

namespace ecoact::identity {

enum class CreateOutcome { kCreated, kReplayed };

class AccountStore {
 public:
  virtual ~AccountStore() = default;
  // ALREADY_EXISTS if the id is taken by a different creating request.
  virtual absl::StatusOr<CreateOutcome> Create(const AccountRecord& record) = 0;
  virtual absl::StatusOr<std::optional<AccountRecord>> Get(absl::string_view id) = 0;
  // NOT_FOUND unknown account, FAILED_PRECONDITION not a citizen. A change
  // of `hidden` or `test` queues the account for the projector's resync.
  virtual absl::StatusOr<AccountRecord> UpdateProfile(absl::string_view id,
                                                      const ProfileChange& change) = 0;
};

class RedisAccountStore : public AccountStore {
 public:
  RedisAccountStore(RedisClient* redis, KeySpace keys);
  absl::StatusOr<CreateOutcome> Create(const AccountRecord& record) override;
  absl::StatusOr<std::optional<AccountRecord>> Get(absl::string_view id) override;
  absl::StatusOr<AccountRecord> UpdateProfile(absl::string_view id,
                                              const ProfileChange& change) override;

 private:
  RedisClient* redis_;
  KeySpace keys_;
};

// Decodes an account hash given as alternating field/value strings.
AccountRecord AccountFromFields(absl::string_view id, const std::vector<std::string>& fields);

}  // namespace ecoact::identity
