// ledgergen: writes benchmark data straight into Redis with the services' own
// code (docs/benchmarks.md).
//
// Ledger mode (default; bench/rebuild.sh): --citizens accounts (created with
// the identity store, as Register stores them; 60% in teams, a third of
// those in organisations) record --entries actions over a season of --days
// days ending now, each prepared by the actions service's ActionRecorder
// (catalogue conversion, periods, badge rules) with the simulated time as
// its clock. --write=xadd (default) appends the entries to the shard
// streams in the record_action script's exact format - checked against one
// entry the script writes first - and sets each account's all-time count;
// --write=script runs the real script for every entry
// (RedisLedgerStore::AppendMany, --batch per round trip), which also writes
// totals, aggregates, history, streaks and badges but is 20-50 times slower.
// Both bypass gRPC, tokens, rate limits and the projector (no board is
// written: that is the rebuild's job).
//
//   ledgergen --redis=127.0.0.1:6390 --entries=1000000
//
// Ceiling mode (--ceiling_call=FILE; bench/redis_ceiling.sh): writes the
// argument vector of one RecordAction EVALSHA, built by the same ledger
// store code, to FILE (NUL-separated: sha, number of keys, keys, args) with
// the account id and the request id replaced by redis-benchmark's
// __rand_int__ placeholder, and creates --ceiling_accounts citizens at the
// account keys the placeholder expands to.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "actions_lua.h"
#include "services/actions/ledger_store.h"
#include "services/actions/recorder.h"
#include "services/catalog/catalog_flags.h"
#include "services/common/config.h"
#include "services/common/keys.h"
#include "services/common/periods.h"
#include "services/common/redis.h"
#include "services/identity/account_store.h"
#include "services/identity/accounts.h"
#include "services/rewards/badge_flags.h"

ABSL_FLAG(int64_t, entries, 1000000, "Ledger entries to write");
ABSL_FLAG(int, citizens, 5000, "Citizens who record them");
ABSL_FLAG(int, days, 90, "Length of the season, ending now");
ABSL_FLAG(int, batch, 1000, "Script calls per pipelined round trip");
ABSL_FLAG(int, seed, 1, "Random seed");
ABSL_FLAG(std::string, write, "xadd",
          "Ledger mode: 'script' records every entry with the record_action script (all its "
          "keys; a few thousand entries/s), 'xadd' appends the entries in the script's exact "
          "format, checked against one script-written entry, plus each account's all-time "
          "count (what a rebuild reads; tens of thousands/s)");
ABSL_FLAG(std::string, ceiling_call, "",
          "Ceiling mode: write the RecordAction EVALSHA argument vector to this file and create "
          "--ceiling_accounts citizens, instead of writing a ledger");
ABSL_FLAG(int, ceiling_accounts, 10000,
          "Ceiling mode: citizens the account placeholder expands to (redis-benchmark -r)");

namespace ecoact::bench {
namespace {

// redis-benchmark expands this to 12 digits, from 0 to -r minus 1.
constexpr char kRandom[] = "__rand_int__";
// 9 + 12 characters: as long as a real account id ("u" + 20 base32).
constexpr char kCeilingAccountPrefix[] = "ubenchmrk";

[[noreturn]] void Fail(const absl::Status& status, const char* what) {
  std::fprintf(stderr, "ledgergen: %s: %s\n", what, std::string(status.message()).c_str());
  std::exit(1);
}

struct Kit {
  CommonConfig config;
  CityCalendar calendar;
  catalog::Catalog catalog;
  catalog::CatalogConfig catalog_config;
  rewards::BadgeRuleSet badges;
};

// Citizen i's profile: 40% in no team, 40% in a team, 20% in a team of an
// organisation (the team fields make the script book group totals too).
identity::AccountRecord Citizen(std::string id, int i, absl::Time since) {
  static const identity::WardDirectory wards =
      *identity::WardDirectory::Parse(identity::kKawasakiWards);
  identity::AccountRecord record;
  record.id = std::move(id);
  record.role = v1::ROLE_CITIZEN;
  record.nickname = absl::StrCat("bench", i);
  record.ward = wards.wards()[i % wards.wards().size()].id;
  if (i % 5 >= 2) {
    record.team = absl::StrCat("team-", i % 97);
    if (i % 5 == 4) record.organisation = absl::StrCat("org-", i % 13);
    record.memberships.push_back({since, record.team, record.organisation});
  }
  // Not a usable credential: these accounts never sign in.
  record.secret_hash = "pbkdf2-sha256$1$bench$bench";
  record.created_at = since;
  record.fingerprint = absl::StrCat("ledgergen-", i);
  return record;
}

int Ceiling(Kit& kit, RedisClient* redis, const KeySpace& keys) {
  const std::string account_marker = absl::StrCat(kCeilingAccountPrefix, "_ACCOUNT_MARKER_");
  const std::string request_marker = "rq_REQUEST_MARKER_";
  // The load generator's RecordAction: 1 km by train, now.
  actions::ActionRecorder recorder(&kit.catalog, &kit.calendar, SystemClock(),
                                   {kit.catalog_config.max_backdate, kit.config.period_retention},
                                   &kit.badges);
  actions::ActionInput input;
  input.account_id = account_marker;
  input.request_id = request_marker;
  input.action_type = "train_instead_of_car";
  input.quantity = 1;
  auto prepared = recorder.Prepare(input);
  if (!prepared.ok()) Fail(prepared.status(), "prepare");
  actions::RedisLedgerStore store(redis, keys, actions::LedgerStoreOptions{});
  RedisClient::ScriptCall call = store.Call(*prepared);
  // Every placeholder expands on its own, so the request id's two make the
  // idempotency key (account x request) one of 10^12 for -r 10000: a long
  // run never repeats one (which would take the script's replay path).
  const std::string account = absl::StrCat(kCeilingAccountPrefix, kRandom);
  const std::string request = absl::StrCat("rq", kRandom, kRandom);
  auto expand = [&](const std::string& s) {
    return absl::StrReplaceAll(s, {{account_marker, account}, {request_marker, request}});
  };
  const LuaScript script("record_action", actions::embedded::kRecordActionLua);
  std::ofstream out(absl::GetFlag(FLAGS_ceiling_call), std::ios::binary);
  out << script.sha() << '\0' << call.keys.size() << '\0';
  for (const std::string& key : call.keys) out << expand(key) << '\0';
  for (const std::string& arg : call.args) out << expand(arg) << '\0';
  out.close();
  if (!out) {
    std::fprintf(stderr, "ledgergen: cannot write %s\n", absl::GetFlag(FLAGS_ceiling_call).c_str());
    return 1;
  }
  // The accounts the placeholder expands to, at the key the template's
  // shard tag gives (standalone Redis: slots are not checked).
  const int n = absl::GetFlag(FLAGS_ceiling_accounts);
  const std::string account_key = keys.Account(account_marker);
  std::vector<std::vector<std::string>> commands;
  for (int i = 0; i < n; ++i) {
    const std::string id = absl::StrFormat("%s%012d", kCeilingAccountPrefix, i);
    identity::AccountRecord record = Citizen(id, i, absl::Now() - absl::Hours(24 * 30));
    std::vector<std::string> hset = {"HSET",
                                     absl::StrReplaceAll(account_key, {{account_marker, id}}),
                                     "fingerprint", record.fingerprint, "role", "citizen",
                                     "nickname", record.nickname, "ward", record.ward,
                                     "team", record.team, "secret", record.secret_hash,
                                     "created_ms",
                                     absl::StrCat(absl::ToUnixMillis(record.created_at))};
    if (!record.organisation.empty()) hset.insert(hset.end(), {"org", record.organisation});
    if (!record.memberships.empty()) {
      hset.insert(hset.end(), {"mh", identity::MembershipHistoryJson(record.memberships)});
    }
    commands.push_back(std::move(hset));
    if (commands.size() == 1000 || i == n - 1) {
      auto replies = redis->Pipeline(commands);
      if (!replies.ok()) Fail(replies.status(), "create accounts");
      commands.clear();
    }
  }
  std::printf("ledgergen: wrote the RecordAction call (%zu keys, %zu args, script %s) to %s and "
              "created %d citizens %s<12 digits>\n",
              call.keys.size(), call.args.size(), script.sha().c_str(),
              absl::GetFlag(FLAGS_ceiling_call).c_str(), n, kCeilingAccountPrefix);
  return 0;
}

// The stream entry record_action.lua writes for `action` by an account
// with `profile` (its team since before the season): the same fields in the
// same order (services/common/ledger_format.h).
std::vector<std::string> EntryFields(const actions::PreparedAction& action,
                                     const identity::AccountRecord& profile) {
  const catalog::Conversion& c = action.conversion;
  std::vector<std::string> fields = {
      "acct", action.input.account_id, "req", action.input.request_id,
      "type", c.type->id, "cat", c.type->category,
      "qty", absl::StrCat(c.quantity_milli), "unit", absl::StrCat(static_cast<int>(c.type->unit)),
      "co2", absl::StrCat(c.co2e_grams), "pts", absl::StrCat(c.points),
      "fv", c.factor_tag, "occ", absl::StrCat(absl::ToUnixMillis(action.occurred_at)),
      "rec", absl::StrCat(absl::ToUnixMillis(action.recorded_at)),
      "ward", profile.ward, "team", profile.team, "src", action.source};
  auto add = [&](std::string f, std::string v) {
    fields.push_back(std::move(f));
    fields.push_back(std::move(v));
  };
  if (!profile.organisation.empty()) add("org", profile.organisation);
  if (!action.campaign_ids.empty()) add("camp", absl::StrJoin(action.campaign_ids, ","));
  if (action.bonus_points != 0) add("bonus", absl::StrCat(action.bonus_points));
  if (action.count_delta != 1) add("cnt", absl::StrCat(action.count_delta));
  if (!action.event_id.empty()) {
    add("event", action.event_id);
    add("by", action.logged_by);
  }
  return fields;
}

// Writes `action` through the script, reads the entry back and fails unless
// EntryFields gives exactly its fields: the guard against the xadd mode
// drifting from the script's format.
void CheckEntryFormat(RedisClient* redis, const KeySpace& keys,
                      const actions::PreparedAction& action,
                      const identity::AccountRecord& profile) {
  actions::RedisLedgerStore store(redis, keys, actions::LedgerStoreOptions{});
  auto recorded = store.Append(action);
  if (!recorded.ok()) Fail(recorded.status(), "record through the script");
  const std::string id = recorded->entry.entry_id();
  auto read = redis->Command(
      {"XRANGE", keys.Ledger(keys.ShardOf(action.input.account_id)), id, id});
  if (!read.ok()) Fail(read.status(), "read the entry back");
  std::vector<std::string> stored;
  if (read->elements.size() == 1 && read->elements[0].elements.size() == 2) {
    for (const RedisValue& v : read->elements[0].elements[1].elements) stored.push_back(v.str);
  }
  if (stored != EntryFields(action, profile)) {
    std::fprintf(stderr,
                 "ledgergen: the script wrote [%s], --write=xadd would write [%s]: update "
                 "EntryFields to the ledger format\n",
                 absl::StrJoin(stored, " ").c_str(),
                 absl::StrJoin(EntryFields(action, profile), " ").c_str());
    std::exit(1);
  }
}

int Ledger(Kit& kit, RedisClient* redis, const KeySpace& keys) {
  const int64_t entries = absl::GetFlag(FLAGS_entries);
  const int n_citizens = absl::GetFlag(FLAGS_citizens);
  const int days = absl::GetFlag(FLAGS_days);
  const size_t batch = static_cast<size_t>(std::max(1, absl::GetFlag(FLAGS_batch)));
  const std::string write = absl::GetFlag(FLAGS_write);
  if (write != "script" && write != "xadd") {
    std::fprintf(stderr, "ledgergen: --write must be script or xadd\n");
    return 2;
  }
  const bool via_script = write == "script";
  std::mt19937_64 random(absl::GetFlag(FLAGS_seed));
  const absl::Time end = absl::Now();
  const absl::Time start = end - absl::Hours(24 * days);
  const absl::Time started = absl::Now();

  identity::RedisAccountStore accounts(redis, keys);
  std::vector<identity::AccountRecord> profiles;
  for (int i = 0; i < n_citizens; ++i) {
    identity::CitizenCredentials credentials =
        identity::DeriveCitizenCredentials("ledgergen", absl::StrCat("citizen-", i));
    profiles.push_back(Citizen(credentials.account_id, i, start));
    auto created = accounts.Create(profiles.back());
    if (!created.ok()) Fail(created.status(), "create account");
  }
  // xadd mode: what the boards rebuild reads besides the ledger (the
  // all-time action count, for --min_actions).
  std::vector<int64_t> counts(n_citizens, 0), co2(n_citizens, 0), pts(n_citizens, 0);

  // The recorder's clock is the simulated time of each action.
  absl::Time now = start;
  actions::ActionRecorder recorder(&kit.catalog, &kit.calendar, [&now] { return now; },
                                   {kit.catalog_config.max_backdate, kit.config.period_retention},
                                   &kit.badges);
  // The mix of the FullRebuild test: counted actions are 1, the others
  // 0.1 to 1 of their unit.
  struct Kind {
    const char* type;
    bool counted;
  };
  const Kind kinds[] = {{"pet_bottles", false},        {"aluminium_cans", false},
                        {"steel_cans", false},         {"glass_bottles", false},
                        {"paper_cardboard", false},    {"clothing_reuse", false},
                        {"clothing_recycling", false}, {"plastic_bag_refused", true},
                        {"own_bottle", true},          {"train_instead_of_car", false}};
  int64_t appended = 0, capped = 0, round_trips = 0;
  bool checked = via_script;
  absl::Duration writing;
  for (int day = 0; day < days && appended < entries; ++day) {
    // Idempotency records older than their TTL would be gone by now.
    const absl::Duration age = end - (start + absl::Hours(24 * (day + 1)));
    actions::LedgerStoreOptions options;
    options.idempotency_ttl = std::max(absl::Seconds(1), options.idempotency_ttl - age);
    actions::RedisLedgerStore store(redis, keys, options);
    const int64_t today = (entries - appended) / (days - day);
    std::vector<actions::PreparedAction> pending;
    std::vector<std::vector<std::string>> commands;
    auto flush = [&] {
      const absl::Time before = absl::Now();
      if (via_script) {
        for (const absl::Status& status : store.AppendMany(pending)) {
          if (status.ok()) {
            ++appended;
          } else if (status.code() == absl::StatusCode::kResourceExhausted) {
            ++capped;  // over a daily cap, as a real client would be
          } else {
            Fail(status, "record");
          }
        }
      } else {
        auto replies = redis->Pipeline(commands);
        if (!replies.ok()) Fail(replies.status(), "XADD");
        for (const RedisValue& reply : *replies) {
          if (reply.IsError()) Fail(absl::InternalError(reply.str), "XADD");
        }
        appended += static_cast<int64_t>(commands.size());
      }
      writing += absl::Now() - before;
      ++round_trips;
      pending.clear();
      commands.clear();
    };
    for (int64_t k = 0; k < today; ++k) {
      now = start + absl::Hours(24 * day) + absl::Seconds(86400 * k / std::max<int64_t>(1, today));
      // A quarter of the actions by the 2% most active citizens.
      const int who = random() % 4 == 0 ? static_cast<int>(random() % std::max(1, n_citizens / 50))
                                        : static_cast<int>(random() % n_citizens);
      const Kind& kind = kinds[random() % 10];
      actions::ActionInput input;
      input.account_id = profiles[who].id;
      input.request_id = absl::StrCat("ledgergen-", day, "-", k);
      input.action_type = kind.type;
      input.quantity = kind.counted ? 1 : 0.1 * static_cast<double>(1 + random() % 10);
      // One in five reported late, up to two days back.
      if (random() % 5 == 0 && now - start > absl::Hours(48)) {
        input.occurred_at = now - absl::Minutes(static_cast<int64_t>(random() % (48 * 60)));
      }
      auto prepared = recorder.Prepare(input);
      if (!prepared.ok()) Fail(prepared.status(), "prepare");
      if (via_script) {
        pending.push_back(*std::move(prepared));
      } else if (!checked) {
        CheckEntryFormat(redis, keys, *prepared, profiles[who]);
        checked = true;
        ++appended;
        continue;
      } else {
        std::vector<std::string> xadd = {
            "XADD", keys.Ledger(keys.ShardOf(input.account_id)), "*"};
        for (std::string& f : EntryFields(*prepared, profiles[who])) xadd.push_back(std::move(f));
        commands.push_back(std::move(xadd));
        ++counts[who];
        co2[who] += prepared->conversion.co2e_grams;
        pts[who] += prepared->conversion.points;
      }
      if (pending.size() + commands.size() >= batch) flush();
    }
    if (!pending.empty() || !commands.empty()) flush();
    if ((day + 1) % 10 == 0 || day + 1 == days) {
      std::printf("ledgergen: day %d/%d, %lld entries\n", day + 1, days,
                  static_cast<long long>(appended));
      std::fflush(stdout);
    }
  }
  if (!via_script) {
    // The all-time totals' figures the boards rebuild reads; the rewards
    // rebuild recomputes the rest of the hash.
    std::vector<std::vector<std::string>> commands;
    for (int i = 0; i < n_citizens; ++i) {
      if (counts[i] == 0) continue;
      commands.push_back({"HINCRBY", keys.Totals(profiles[i].id, "all"), "n",
                          absl::StrCat(counts[i])});
      commands.push_back({"HINCRBY", keys.Totals(profiles[i].id, "all"), "co2",
                          absl::StrCat(co2[i])});
      commands.push_back({"HINCRBY", keys.Totals(profiles[i].id, "all"), "pts",
                          absl::StrCat(pts[i])});
    }
    auto replies = redis->Pipeline(commands);
    if (!replies.ok()) Fail(replies.status(), "totals");
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - started);
  std::printf("ledgergen: %lld entries (%lld refused over a daily cap) for %d citizens over %d "
              "days in %.1f s, %s: %.0f entries/s (%lld pipelined round trips)\n",
              static_cast<long long>(appended), static_cast<long long>(capped), n_citizens, days,
              seconds, via_script ? "through the record_action script" : "XADD",
              appended / std::max(1e-9, absl::ToDoubleSeconds(writing)),
              static_cast<long long>(round_trips));
  return 0;
}

}  // namespace
}  // namespace ecoact::bench

int main(int argc, char** argv) {
  ecoact::InitFlags(argc, argv,
                    "writes a benchmark ledger (or the Redis-ceiling call) with the services' "
                    "own code");
  auto config = ecoact::CommonConfigFromFlags();
  if (!config.ok()) ecoact::ExitWithConfigError(config.status());
  auto calendar = ecoact::CityCalendar::Create(config->time_zone, config->week_start);
  if (!calendar.ok()) ecoact::ExitWithConfigError(calendar.status());
  auto catalog_config = ecoact::catalog::CatalogConfigFromFlags();
  if (!catalog_config.ok()) ecoact::ExitWithConfigError(catalog_config.status());
  auto catalog = ecoact::catalog::LoadCatalog(*catalog_config, *calendar);
  if (!catalog.ok()) ecoact::ExitWithConfigError(catalog.status());
  auto badges = ecoact::rewards::BadgeRulesFromFlags();
  if (!badges.ok()) ecoact::ExitWithConfigError(badges.status());
  ecoact::bench::Kit kit{*config, *calendar, *std::move(catalog), *catalog_config,
                         *std::move(badges)};
  ecoact::RedisClient redis(config->redis);
  ecoact::KeySpace keys(config->key_prefix, config->ledger_shards);
  return absl::GetFlag(FLAGS_ceiling_call).empty() ? ecoact::bench::Ledger(kit, &redis, keys)
                                                  : ecoact::bench::Ceiling(kit, &redis, keys);
}
