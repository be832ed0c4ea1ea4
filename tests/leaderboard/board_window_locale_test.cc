// board_window.lua orders tied members byte by byte whatever the Redis
// server's locale: Redis sets LC_COLLATE from its environment, and Lua's `<`
// on strings is strcoll, so a server started under en_US.UTF-8 would order
// "a" before "B" where the sorted set (and the C++ merge of partitioned
// boards) puts "B" first. The test builds an en_US.UTF-8 locale with
// localedef (the `locales` package, scripts/setup.sh) into a temp dir, starts
// redis-server with LOCPATH/LC_ALL pointing at it, checks that the server's
// Lua does collate by it, then checks the script against ZREVRANK.
#include <stdlib.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "leaderboard_lua.h"
#include "services/common/redis.h"
#include "services/common/status_macros.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"

namespace ecoact::test {
namespace {

const LuaScript& WindowScript() {
  static const LuaScript script("board_window", leaderboard::embedded::kBoardWindowLua);
  return script;
}

// A redis-server whose LC_COLLATE is en_US.UTF-8.
absl::StatusOr<std::unique_ptr<RedisServerProcess>> StartUnderEnglishLocale() {
  ASSIGN_OR_RETURN(std::string dir, MakeTempDir("locale"));
  const std::string command =
      absl::StrCat("localedef -i en_US -f UTF-8 ", dir, "/en_US.UTF-8 >", dir, "/localedef.log 2>&1");
  // localedef exits 1 on mere warnings; the probe below decides.
  (void)std::system(command.c_str());
  // The child inherits this environment (ProcessHandle copies environ).
  ::setenv("LOCPATH", dir.c_str(), 1);
  ::setenv("LC_ALL", "en_US.UTF-8", 1);
  RedisServerOptions options;
  options.standalone = true;
  auto server = RedisServerProcess::Start(options);
  ::unsetenv("LC_ALL");
  ::unsetenv("LOCPATH");
  return server;
}

TEST(BoardWindowLocaleTest, TiesAreInByteOrderUnderAnEnglishLocale) {
  auto server = StartUnderEnglishLocale();
  ASSERT_THAT(server, IsOk());
  RedisClient redis((*server)->client_options());

  // The server's Lua collates by the locale: without this the test would
  // prove nothing.
  auto probe = redis.Command({"EVAL", "if 'a' < 'B' then return 1 else return 0 end", "0"});
  ASSERT_THAT(probe, IsOk());
  ASSERT_EQ(probe->integer, 1)
      << "redis-server did not run under en_US.UTF-8 (is the locales package installed? "
         "scripts/setup.sh); its Lua compared 'a' and 'B' by bytes";

  // Members whose byte order differs from en_US collation: case, punctuation
  // (ignored at the first level of en_US), a common prefix, a UTF-8 byte.
  const std::vector<std::string> members = {
      "B",   "a",     "b",    "A",    "a-b", "ab",      "aB",           "Ab",
      "a_c", "acc_1", "ACC2", "acc1", "z",   "\xc3\xa9", "account-0042", "account_0042"};
  const std::string board = "locale-test:{b}";
  for (const std::string& m : members) {
    ASSERT_THAT(redis.Command({"ZADD", board, "7", m}), IsOk());
  }
  // One member above and one below the ties.
  ASSERT_THAT(redis.Command({"ZADD", board, "9", "top"}), IsOk());
  ASSERT_THAT(redis.Command({"ZADD", board, "1", "bottom"}), IsOk());

  for (const std::string& m : members) {
    auto rank = redis.Command({"ZREVRANK", board, m});
    ASSERT_THAT(rank, IsOk());
    auto window = redis.Eval(WindowScript(), {board}, {"7", m, "1"});
    ASSERT_THAT(window, IsOk());
    ASSERT_GE(window->elements.size(), 4u);
    // {card, above, ahead, from, member, score, ...}
    EXPECT_EQ(window->elements[0].integer, 18);
    EXPECT_EQ(window->elements[1].integer, 1);
    EXPECT_EQ(window->elements[2].integer, rank->integer) << "member " << m;
    // The window's middle member is the pivot itself.
    ASSERT_GE(window->elements.size(), 8u);
    EXPECT_EQ(window->elements[6].str, m);
  }
  // A pivot that is not on the board (a member of another part of a
  // partitioned board) falls between the ties by bytes too: "C" sorts after
  // "B" and before every lower-case member.
  auto window = redis.Eval(WindowScript(), {board}, {"7", "C", "0"});
  ASSERT_THAT(window, IsOk());
  int64_t lower_or_after = 0;
  for (const std::string& m : members) lower_or_after += m > std::string("C") ? 1 : 0;
  EXPECT_EQ(window->elements[2].integer, 1 + lower_or_after);
}

}  // namespace
}  // namespace ecoact::test
