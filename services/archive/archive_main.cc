// ecoact_archive: moves ledger entries older than --ledger_retention, once
// every consumer group has acknowledged them, from the shard streams into
// compressed segments in --archive_dir, then trims them from Redis
// (docs/operations.md, "Ledger archive"). Run by cron (daily is enough); a
// lease in Redis keeps a second run from starting while one is active.
//   build/services/archive/ecoact_archive --redis=127.0.0.1:6390
//       --archive_dir=/var/lib/ecoact/archive --ledger_retention=2160h
// (one command line)
// A separate command rather than a worker inside a server: it needs a local
// (or mounted) disk that the stateless services do not have, it runs once a
// day for minutes, and an operator can run it by hand before a migration.
#include <cstdio>

#include "absl/time/clock.h"
#include "services/archive/archive_flags.h"
#include "services/common/config.h"
#include "services/common/flags.h"

int main(int argc, char** argv) {
  ecoact::InitFlags(argc, argv,
                    "archives ledger entries older than --ledger_retention to --archive_dir and "
                    "trims them from Redis, then exits");
  auto config = ecoact::CommonConfigFromFlags();
  if (!config.ok()) ecoact::ExitWithConfigError(config.status());
  auto archive = ecoact::archive::ArchiveConfigFromFlags();
  if (!archive.ok()) ecoact::ExitWithConfigError(archive.status());
  if (archive->options.retention == absl::ZeroDuration()) {
    std::printf("--ledger_retention is 0: the ledger is never archived; nothing to do\n");
    return 0;
  }
  auto store = ecoact::archive::OpenArchive(*archive);
  if (!store.ok()) ecoact::ExitWithConfigError(store.status());
  ecoact::RedisClient redis(config->redis);
  ecoact::KeySpace keys(config->key_prefix, config->ledger_shards);
  const absl::Time started = absl::Now();
  auto report = ecoact::archive::RunArchive(&redis, keys, store->get(), archive->options, started);
  if (!report.ok()) {
    std::fprintf(stderr, "archive failed: %s\n", std::string(report.status().message()).c_str());
    return report.status().code() == absl::StatusCode::kFailedPrecondition ? 3 : 1;
  }
  for (const auto& shard : report->shards) {
    if (shard.held_back_by.empty() || shard.held_back_by == "retention" ||
        shard.held_back_by == "caught-up groups") {
      continue;
    }
    std::printf("shard %d: held back by %s (up to %s)\n", shard.shard, shard.held_back_by.c_str(),
                shard.bound.empty() ? "nothing" : shard.bound.c_str());
  }
  std::printf("archived %lld ledger entries in %lld new segments and trimmed %lld from Redis "
              "in %.3f s\n",
              static_cast<long long>(report->archived), static_cast<long long>(report->segments),
              static_cast<long long>(report->trimmed),
              absl::ToDoubleSeconds(absl::Now() - started));
  return 0;
}
