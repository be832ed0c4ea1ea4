// The file archive store on a real directory: what goes in comes back, a
// damaged segment is reported rather than read, a write that never
// completed is invisible.
#include "services/archive/archive_store.h"

#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace ecoact::archive {
namespace {

using ::ecoact::test::IsOk;
using ::ecoact::test::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

std::string MakeTempDir() {
  std::string pattern = absl::StrCat(::testing::TempDir(), "/archive_store_test_XXXXXX");
  char* made = mkdtemp(pattern.data());
  EXPECT_NE(made, nullptr);
  return pattern;
}

std::vector<ArchivedEntry> Entries(uint64_t first_ms, int count) {
  std::vector<ArchivedEntry> entries;
  for (int i = 0; i < count; ++i) {
    entries.push_back({absl::StrCat(first_ms + i, "-", i % 3),
                       {"acct", absl::StrCat("a", i), "qty", "1000", "co2", absl::StrCat(i * 7),
                        "pts", "10", "occ", absl::StrCat(first_ms + i), "ward", "中原区"}});
  }
  return entries;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(StreamIdTest, ParsesOrdersAndSteps) {
  auto id = StreamId::Parse("1700000000000-5");
  ASSERT_THAT(id, IsOk());
  EXPECT_EQ(id->ToString(), "1700000000000-5");
  EXPECT_EQ(id->Next().ToString(), "1700000000000-6");
  EXPECT_TRUE(*StreamId::Parse("9-9") < *StreamId::Parse("10-0"));
  EXPECT_THAT(StreamId::Parse("abc"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SegmentNameTest, RoundTripsAndRejectsOtherFiles) {
  SegmentInfo info{3, {1700000000000, 0}, {1700000999000, 4}, 5, 0x0a1b2c3d};
  EXPECT_EQ(SegmentName(info), "s3_1700000000000-0_1700000999000-4_5_0a1b2c3d.seg");
  auto parsed = ParseSegmentName(SegmentName(info));
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->shard, 3);
  EXPECT_EQ(parsed->count, 5);
  EXPECT_EQ(parsed->crc32, 0x0a1b2c3du);
  EXPECT_FALSE(ParseSegmentName(".tmp-" + SegmentName(info) + ".42").ok());
  EXPECT_FALSE(ParseSegmentName("s3_2-0_1-0_5_0a1b2c3d.seg").ok());  // last before first
  EXPECT_FALSE(ParseSegmentName("notes.txt").ok());
}

TEST(FileArchiveStoreTest, RoundTripKeepsEveryFieldAndOrder) {
  auto store = FileArchiveStore::Open(MakeTempDir());
  ASSERT_THAT(store, IsOk());
  const std::vector<ArchivedEntry> first = Entries(1000, 250);
  const std::vector<ArchivedEntry> second = Entries(5000, 3);
  ASSERT_THAT((*store)->Append(2, second), IsOk());
  auto written = (*store)->Append(2, first);
  ASSERT_THAT(written, IsOk());
  EXPECT_EQ(written->count, 250);
  EXPECT_GT(written->bytes, 0);
  ASSERT_THAT((*store)->Append(0, Entries(1000, 1)), IsOk());  // another shard

  auto listed = (*store)->List(2);
  ASSERT_THAT(listed, IsOk());
  ASSERT_THAT(*listed, SizeIs(2));
  EXPECT_EQ((*listed)[0].first.ToString(), "1000-0");  // by first id, not by write order
  EXPECT_EQ((*listed)[1].first.ToString(), "5000-0");
  auto read = (*store)->Read((*listed)[0]);
  ASSERT_THAT(read, IsOk());
  ASSERT_EQ(read->size(), first.size());
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ((*read)[i].id, first[i].id);
    EXPECT_EQ((*read)[i].fields, first[i].fields);
  }
  RedisValue as_stream = (*read)[1].ToStreamEntry();
  ASSERT_THAT(as_stream.elements, SizeIs(2));
  EXPECT_EQ(as_stream.elements[0].str, "1001-1");
  EXPECT_EQ(as_stream.elements[1].elements[1].str, "a1");
}

TEST(FileArchiveStoreTest, SameRangeTwiceIsOneSegmentAndOverlapIsRefused) {
  auto store = FileArchiveStore::Open(MakeTempDir());
  ASSERT_THAT(store, IsOk());
  ASSERT_THAT((*store)->Append(1, Entries(1000, 10)), IsOk());
  ASSERT_THAT((*store)->Append(1, Entries(1000, 10)), IsOk());
  auto listed = (*store)->List(1);
  ASSERT_THAT(listed, IsOk());
  EXPECT_THAT(*listed, SizeIs(1));
  EXPECT_THAT((*store)->Append(1, Entries(1005, 10)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(FileArchiveStoreTest, CorruptSegmentIsDataLoss) {
  const std::string dir = MakeTempDir();
  auto store = FileArchiveStore::Open(dir);
  ASSERT_THAT(store, IsOk());
  auto written = (*store)->Append(0, Entries(1000, 50));
  ASSERT_THAT(written, IsOk());
  const std::string path = absl::StrCat(dir, "/", SegmentName(*written));
  std::string bytes = ReadFile(path);
  bytes[bytes.size() - 10] ^= 0x5a;  // a flipped bit in the compressed body
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  EXPECT_THAT((*store)->Read(*written), StatusIs(absl::StatusCode::kDataLoss));

  bytes = ReadFile(path);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 2);
  EXPECT_THAT((*store)->Read(*written), StatusIs(absl::StatusCode::kDataLoss));
}

TEST(FileArchiveStoreTest, PartialTempFileIsIgnored) {
  const std::string dir = MakeTempDir();
  auto store = FileArchiveStore::Open(dir);
  ASSERT_THAT(store, IsOk());
  auto written = (*store)->Append(0, Entries(1000, 5));
  ASSERT_THAT(written, IsOk());
  // A crash mid-write of the next segment: its temp file, half written.
  SegmentInfo next{0, {2000, 0}, {2004, 1}, 5, 0x12345678};
  std::ofstream(absl::StrCat(dir, "/.tmp-", SegmentName(next), ".999"), std::ios::binary)
      << "ECOACT-SEGMENT 1 shard=0 first=2000-0 las";
  auto listed = (*store)->List(0);
  ASSERT_THAT(listed, IsOk());
  ASSERT_THAT(*listed, SizeIs(1));
  EXPECT_EQ((*listed)[0].first.ToString(), "1000-0");
  // The same range written again completes normally.
  EXPECT_THAT((*store)->Append(0, Entries(2000, 5)), IsOk());
  listed = (*store)->List(0);
  ASSERT_THAT(listed, IsOk());
  EXPECT_THAT(*listed, SizeIs(2));
}

TEST(FileArchiveStoreTest, UnusableDirectoryIsInvalidArgument) {
  EXPECT_THAT(FileArchiveStore::Open(""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FileArchiveStore::Open("/proc/no/such/archive"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("/proc/no/such/archive")));
}

}  // namespace
}  // namespace ecoact::archive
