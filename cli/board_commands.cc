// `ecoact board` pages (citizen and group boards), `ecoact ranks` and
// `ecoact admin outliers`.
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/cli.h"

namespace ecoact::cli {
namespace {

std::string Score(v1::Metric metric, int64_t score) {
  return metric == v1::METRIC_CO2E_GRAMS ? FormatCo2(score) : absl::StrCat(score);
}

std::string BoardTitle(const v1::BoardRef& board) {
  std::string what =
      board.level() == v1::LEVEL_UNSPECIFIED
          ? absl::StrCat(Label(v1::Scope_Name(board.scope())),
                         board.scope_id().empty() ? "" : " " + board.scope_id())
          : absl::StrCat(Label(v1::Level_Name(board.level())),
                         board.per_active_member() ? " per active member" : "");
  return absl::StrCat(what, ", ", Label(v1::Period_Name(board.period())), ", by ",
                      Label(v1::Metric_Name(board.metric())));
}

}  // namespace

void PrintBoardPage(const v1::GetLeaderboardRequest& request,
                    const v1::GetLeaderboardResponse& r) {
  const v1::BoardRef& board = request.board();
  std::printf("%s board: %lld ranked", BoardTitle(board).c_str(),
              static_cast<long long>(r.total_ranked()));
  if (r.has_period_ends_at()) {
    std::printf("; %s ends %s", r.period_key().c_str(), ShowTime(r.period_ends_at()).c_str());
  }
  std::printf("\n");
  if (board.scope() == v1::SCOPE_WARD || board.scope() == v1::SCOPE_TEAM ||
      board.scope() == v1::SCOPE_ORGANISATION) {
    std::printf("group total: %s\n", Score(board.metric(), r.board_total()).c_str());
  }
  std::printf("\n");
  if (r.totals_only()) {
    std::printf("Too few ranked members to list them: the total only.\n");
    return;
  }
  if (board.level() == v1::LEVEL_UNSPECIFIED) {
    PrintTable(BoardRows(board.metric(), {&r.entries()}));
  } else {
    Rows rows = {{"RANK", "GROUP", "ID", "SCORE", "TOTAL", "ACTIVE", ""}};
    for (const v1::BoardEntry& e : r.entries()) {
      rows.push_back({absl::StrCat(e.rank()), e.nickname(), e.group_id(),
                      Score(board.metric(), e.score()), Score(board.metric(), e.total()),
                      absl::StrCat(e.active_members()), e.is_me() ? "<- yours" : ""});
    }
    PrintTable(rows);
  }
  if (!r.prev_page_token().empty()) {
    std::printf("\nbetter ranked: --page_token=%s\n", r.prev_page_token().c_str());
  }
  if (!r.next_page_token().empty()) {
    std::printf("%smore: --page_token=%s\n", r.prev_page_token().empty() ? "\n" : "",
                r.next_page_token().c_str());
  }
}

int Ranks(Client& client, const Invocation& /*in*/) {
  v1::GetMyRanksRequest request;
  return Exchange<v1::GetMyRanksResponse>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.leaderboard().GetMyRanks(c, request, out); },
      [](const v1::GetMyRanksResponse& r) {
        Rows rows = {{"BOARD", "PERIOD", "RANK", "OF", "SCORE"}};
        for (const v1::MyBoardRank& rank : r.ranks()) {
          std::string board = BoardTitle(rank.board());
          if (!rank.group_id().empty()) absl::StrAppend(&board, " (", rank.group_id(), ")");
          rows.push_back({board, rank.period_key(),
                          rank.ranked() ? absl::StrCat(rank.rank()) : "-",
                          absl::StrCat(rank.total_ranked()),
                          rank.ranked() ? Score(rank.board().metric(), rank.score()) : "-"});
        }
        PrintTable(rows);
      });
}

int AdminOutliers(Client& client, const Invocation& in) {
  v1::ListOutliersRequest request;
  request.set_day(in.Str("day"));
  request.set_factor(in.Number("ratio", 0));
  request.set_floor_co2e_grams(in.Int("floor", 0));
  request.set_limit(in.Int("limit", 0));
  return Exchange<v1::ListOutliersResponse>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.leaderboard().ListOutliers(c, request, out); },
      [](const v1::ListOutliersResponse& r) {
        std::printf("%s: %lld active citizens, median %s; listing above %s\n\n", r.day().c_str(),
                    static_cast<long long>(r.active_citizens()),
                    FormatCo2(r.median_co2e_grams()).c_str(),
                    FormatCo2(r.threshold_co2e_grams()).c_str());
        if (r.outliers().empty()) {
          std::printf("No outliers.\n");
          return;
        }
        Rows rows = {{"ACCOUNT", "NICKNAME", "CO2E", "X MEDIAN"}};
        for (const v1::Outlier& o : r.outliers()) {
          rows.push_back({o.account_id(), o.nickname(), FormatCo2(o.co2e_grams()),
                          o.ratio() > 0 ? absl::StrFormat("%.1f", o.ratio()) : "-"});
        }
        PrintTable(rows);
      });
}

}  // namespace ecoact::cli
