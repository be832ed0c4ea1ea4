// The load generator's measuring code (bench/loadgen): percentiles of the
// histogram against a sorted sample, merging, the open-loop schedule, and
// the parsing of Redis INFO text and /proc/<pid>/stat.
#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <vector>

#include "bench/loadgen/histogram.h"
#include "bench/loadgen/schedule.h"
#include "bench/loadgen/server_stats.h"
#include "gtest/gtest.h"

namespace ecoact::loadgen {
namespace {

int64_t SortedAt(std::vector<int64_t> v, double q) {
  std::sort(v.begin(), v.end());
  const size_t rank = std::max<size_t>(1, static_cast<size_t>(std::ceil(q * v.size())));
  return v[rank - 1];
}

TEST(HistogramTest, EmptyReportsZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.ValueAt(0.5), 0);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.Mean(), 0);
}

TEST(HistogramTest, SmallValuesAreExact) {
  Histogram h;
  for (int v = 1; v <= 100; ++v) h.Record(v);
  EXPECT_EQ(h.ValueAt(0.5), 50);
  EXPECT_EQ(h.ValueAt(0.9), 90);
  EXPECT_EQ(h.ValueAt(0.99), 99);
  EXPECT_EQ(h.ValueAt(1.0), 100);
  EXPECT_EQ(h.ValueAt(0.0), 1);
  EXPECT_DOUBLE_EQ(h.Mean(), 50.5);
}

TEST(HistogramTest, BucketsTileTheRangeWithoutGaps) {
  for (int b = 0; b + 1 < Histogram::BucketCount(); ++b) {
    ASSERT_EQ(Histogram::BucketHigh(b), Histogram::BucketLow(b + 1)) << b;
    ASSERT_EQ(Histogram::BucketOf(Histogram::BucketLow(b)), b);
    ASSERT_EQ(Histogram::BucketOf(Histogram::BucketHigh(b) - 1), b);
  }
  EXPECT_EQ(Histogram::BucketOf(INT64_MAX), Histogram::BucketCount() - 1);
  EXPECT_EQ(Histogram::BucketOf(-5), 0);
}

TEST(HistogramTest, BucketWidthIsWithinOnePart128OfItsValues) {
  for (int b = 256; b < Histogram::BucketCount(); ++b) {
    const double low = static_cast<double>(Histogram::BucketLow(b));
    const double width = static_cast<double>(Histogram::BucketHigh(b)) - low;
    ASSERT_LE(width / low, 1.0 / 128 + 1e-12) << b;
  }
}

TEST(HistogramTest, PercentilesMatchASortedSampleWithinOnePercent) {
  std::mt19937_64 random(42);
  // Latency-like: log-normal around 1 ms with a long tail, in nanoseconds.
  std::lognormal_distribution<double> latency(std::log(1e6), 0.8);
  std::vector<int64_t> sample;
  Histogram h;
  for (int i = 0; i < 200000; ++i) {
    const int64_t v = static_cast<int64_t>(latency(random));
    sample.push_back(v);
    h.Record(v);
  }
  for (double q : {0.5, 0.9, 0.99, 0.999, 1.0}) {
    const double exact = static_cast<double>(SortedAt(sample, q));
    EXPECT_NEAR(static_cast<double>(h.ValueAt(q)), exact, exact * 0.01) << "q=" << q;
  }
  EXPECT_EQ(h.max(), *std::max_element(sample.begin(), sample.end()));
  EXPECT_EQ(h.min(), *std::min_element(sample.begin(), sample.end()));
}

TEST(HistogramTest, MergeEqualsRecordingEverythingInOne) {
  std::mt19937_64 random(7);
  std::uniform_int_distribution<int64_t> value(0, 50'000'000);
  Histogram parts[3];
  Histogram whole;
  for (int i = 0; i < 30000; ++i) {
    const int64_t v = value(random);
    parts[i % 3].Record(v);
    whole.Record(v);
  }
  Histogram merged;
  for (const Histogram& part : parts) merged.Merge(part);
  merged.Merge(Histogram());  // an idle thread's histogram changes nothing
  EXPECT_EQ(merged.count(), whole.count());
  EXPECT_EQ(merged.min(), whole.min());
  EXPECT_EQ(merged.max(), whole.max());
  EXPECT_DOUBLE_EQ(merged.Mean(), whole.Mean());
  for (double q : {0.0, 0.5, 0.9, 0.99, 0.999, 1.0}) {
    EXPECT_EQ(merged.ValueAt(q), whole.ValueAt(q)) << "q=" << q;
  }
}

TEST(HistogramTest, OneSlowCallInAThousandShowsAtP999) {
  Histogram h;
  for (int i = 0; i < 999; ++i) h.Record(1'000'000);  // 1 ms
  h.Record(2'000'000'000);                              // 2 s
  EXPECT_NEAR(h.ValueAt(0.99), 1'000'000, 10'000);
  EXPECT_NEAR(h.ValueAt(0.999), 1'000'000, 10'000);
  EXPECT_EQ(h.ValueAt(1.0), 2'000'000'000);
  h.Record(2'000'000'000);
  EXPECT_NEAR(h.ValueAt(0.999), 2'000'000'000, 20'000'000);
}

TEST(OpenLoopScheduleTest, CallsAreEvenlySpacedFromTheStart) {
  OpenLoopSchedule s(1000, 5'000, 0, 1);  // 1000/s: 1 ms apart
  EXPECT_EQ(s.Take(), 5'000);
  EXPECT_EQ(s.Take(), 1'005'000);
  EXPECT_EQ(s.Take(), 2'005'000);
  EXPECT_EQ(s.taken(), 3);
}

TEST(OpenLoopScheduleTest, NoDriftOverAMillionCalls) {
  OpenLoopSchedule s(3000, 0, 0, 1);  // 333,333.33 ns apart
  for (int i = 0; i < 1'000'000; ++i) s.Take();
  EXPECT_EQ(s.NextTime(), 333'333'333'333);  // 1e6 / 3000 s, to the nanosecond
}

TEST(OpenLoopScheduleTest, ThreadsShareTheCallsExactlyOnce) {
  const int threads = 3;
  std::vector<OpenLoopSchedule> schedules;
  for (int t = 0; t < threads; ++t) schedules.emplace_back(500, 0, t, threads);
  std::multiset<int64_t> times;
  for (auto& s : schedules) {
    for (int i = 0; i < 100; ++i) times.insert(s.Take());
  }
  OpenLoopSchedule all(500, 0, 0, 1);
  for (int i = 0; i < 300; ++i) {
    const int64_t t = all.Take();
    ASSERT_EQ(times.count(t), 1u) << "call " << i;
  }
}

TEST(OpenLoopScheduleTest, ALateSenderStillSendsEveryDueCallAtItsOwnTime) {
  OpenLoopSchedule s(1000, 0, 0, 1);
  // The sender wakes 10.5 ms late: 11 calls are due, each keeps its own
  // scheduled time, so their latency counts the wait.
  const int64_t now = 10'500'000;
  std::vector<int64_t> sent;
  while (s.Due(now)) sent.push_back(s.Take());
  ASSERT_EQ(sent.size(), 11u);
  for (int i = 0; i < 11; ++i) EXPECT_EQ(sent[i], i * 1'000'000);
  EXPECT_FALSE(s.Due(now));
  EXPECT_EQ(s.NextTime(), 11'000'000);
}

// ---- Server-side counters ----

// As Redis 7.0 prints it: CRLF line ends, section headers, subcommands.
constexpr char kInfo[] =
    "# Stats\r\n"
    "total_commands_processed:120\r\n"
    "total_reads_processed:55\r\n"
    "\r\n"
    "# CPU\r\n"
    "used_cpu_sys:1.250000\r\n"
    "used_cpu_user:0.500000\r\n"
    "\r\n"
    "# Commandstats\r\n"
    "cmdstat_evalsha:calls=40,usec=900,usec_per_call=22.50,rejected_calls=0,failed_calls=1\r\n"
    "cmdstat_xinfo|groups:calls=3,usec=9,usec_per_call=3.00,rejected_calls=0,failed_calls=0\r\n"
    "cmdstat_hincrby:calls=77,usec=80,usec_per_call=1.04,rejected_calls=0,failed_calls=0\r\n";

TEST(ServerStatsTest, InfoFieldsSkipHeadersAndKeepValuesAsText) {
  auto fields = ParseInfoFields(kInfo);
  EXPECT_EQ(fields["total_reads_processed"], "55");
  EXPECT_EQ(fields["used_cpu_sys"], "1.250000");
  EXPECT_EQ(fields.count("# Stats"), 0u);
  EXPECT_EQ(fields["cmdstat_xinfo|groups"],
            "calls=3,usec=9,usec_per_call=3.00,rejected_calls=0,failed_calls=0");
}

TEST(ServerStatsTest, CommandCallsReadOnlyCommandstats) {
  auto calls = ParseCommandCalls(kInfo);
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls["evalsha"], 40);
  EXPECT_EQ(calls["xinfo|groups"], 3);
  EXPECT_EQ(calls["hincrby"], 77);
}

TEST(ServerStatsTest, DeltaCountsNewCommandsFromZeroAndDropsUnchanged) {
  std::map<std::string, int64_t> before = {{"evalsha", 40}, {"ping", 5}};
  std::map<std::string, int64_t> after = {{"evalsha", 100}, {"ping", 5}, {"xack", 7}};
  auto delta = CallsDelta(before, after);
  EXPECT_EQ(delta, (std::map<std::string, int64_t>{{"evalsha", 60}, {"xack", 7}}));
}

TEST(ServerStatsTest, SumCallsByNameWithExclusions) {
  std::map<std::string, int64_t> calls = {{"evalsha", 60}, {"eval", 2}, {"xack", 7}, {"info", 4}};
  EXPECT_EQ(SumCalls(calls, {"evalsha", "eval", "fcall"}), 62);
  EXPECT_EQ(SumCalls(calls, {}), 73);
  EXPECT_EQ(SumCalls(calls, {}, {"info"}), 69);
}

TEST(ServerStatsTest, CpuTicksCountFieldsAfterTheCommandName) {
  // A command name with spaces and a ')' must not shift the fields.
  const char stat[] =
      "4242 (ecoact (srv) x) S 1 4242 4242 0 -1 4194560 500 0 0 0 1234 567 0 0 20 0 9 0 100 "
      "1000 200 18446744073709551615\n";
  auto ticks = ProcessCpuTicks(stat);
  ASSERT_TRUE(ticks.ok()) << ticks.status();
  EXPECT_EQ(*ticks, 1234 + 567);
  EXPECT_FALSE(ProcessCpuTicks("4242 no parenthesis").ok());
  EXPECT_FALSE(ProcessCpuTicks("4242 (short) S 1 2").ok());
}

}  // namespace
}  // namespace ecoact::loadgen
