// What the source files of the `ecoact` command-line client share: the parsed
// command line, the Client every RPC goes through, and the output helpers.
//
// ecoact.cc holds the option table, the command table, the account, action
// and board commands and main(); events_commands.cc holds the commands of
// collection drives and points (`ecoact event ...`, `ecoact checkin-code`);
// teams_commands.cc the commands of teams and organisations (`ecoact team
// ...`, `ecoact org ...`, `ecoact join`, `ecoact admin test-account`);
// privacy_commands.cc `ecoact export` and `ecoact delete-account`;
// surveys_commands.cc `ecoact survey ...`; reports_commands.cc `ecoact
// report` and `ecoact report export`.
// and board commands and main(); board_commands.cc the group-board, ranks
// and outlier views; events_commands.cc holds the commands of
// collection drives and points (`ecoact event ...`, `ecoact checkin-code`).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ecoact/v1/actions.grpc.pb.h"
#include "ecoact/v1/catalog.grpc.pb.h"
#include "ecoact/v1/events.grpc.pb.h"
#include "ecoact/v1/identity.grpc.pb.h"
#include "ecoact/v1/leaderboard.grpc.pb.h"
#include "ecoact/v1/reports.grpc.pb.h"
#include "ecoact/v1/rewards.grpc.pb.h"
#include "ecoact/v1/surveys.grpc.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/grpcpp.h"
#include "services/common/routes.h"
#include "services/common/tls.h"

namespace ecoact::cli {

namespace v1 = ::ecoact::v1;
using google::protobuf::RepeatedPtrField;
using google::protobuf::Timestamp;
using Rows = std::vector<std::vector<std::string>>;

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

// ------------------------------------------------------------ command line

struct Command;

// One command line: the command, its arguments and every option given.
// Option values were checked against their kind when parsed.
struct Invocation {
  const Command* command = nullptr;
  std::vector<std::string> words;  // the command's name words, then its arguments
  size_t name_words = 0;           // how many of `words` name the command
  std::map<std::string, std::string, std::less<>> options;
  std::string error;  // the first malformed option, reported once the command is known

  // The command's arguments, after its name.
  size_t ArgCount() const { return words.size() - name_words; }
  const std::string& Arg(size_t i) const { return words.at(name_words + i); }

  bool Has(absl::string_view name) const { return options.find(name) != options.end(); }
  std::string Str(absl::string_view name, absl::string_view fallback = "") const {
    auto it = options.find(name);
    return it == options.end() ? std::string(fallback) : it->second;
  }
  bool Flag(absl::string_view name) const { return Str(name) == "true"; }
  int Int(absl::string_view name, int fallback) const;
  double Number(absl::string_view name, double fallback) const;
  // The value of an RFC 3339 option, or nullopt when absent.
  std::optional<absl::Time> Time(absl::string_view name) const;
  // The 1-based position of the value among the option's choices: the proto enum value.
  int Choice(absl::string_view name, absl::string_view fallback) const;
};

// Prints the message and the command's usage on stderr; returns kExitUsage.
int UsageError(const Invocation& in, absl::string_view message);

// 32 hex digits from the system's random source, the shape of a UUID.
std::string NewRequestId();

// "--request_id=ID": named in the hint printed when a write may have been
// applied although the call failed.
std::string RetryOption(absl::string_view option, absl::string_view value);

// --------------------------------------------------------------- formatting

// "2.35" for 2350: quantities, and kilograms of CO2e, are exact thousandths.
std::string FormatMilli(int64_t milli);
// "2350 g (2.35 kg)".
std::string FormatCo2(int64_t grams);
// "ROLE_ADMIN" -> "admin", "PERIOD_ALL_TIME" -> "all time".
std::string Label(absl::string_view enum_name);
// An unset timestamp is "never" (InfiniteFuture), not 1970.
absl::Time FromTimestamp(const Timestamp& ts);
Timestamp ToTimestamp(absl::Time time);
// RFC 3339 in the local time zone, the format time options take; "-" for never.
std::string ShowTime(absl::Time time);
std::string ShowTime(const Timestamp& ts);
// Prints rows as aligned columns.
void PrintTable(const Rows& rows);
// Prints a message as proto3 JSON, every field included.
void PrintJson(const google::protobuf::Message& message);
// The rows of a board: RANK, NICKNAME, SCORE, "<- you".
Rows BoardRows(v1::Metric metric, std::vector<const RepeatedPtrField<v1::BoardEntry>*> parts);

// ------------------------------------------------------------------- client

// What the session file keeps between runs. The access token is renewed
// with the refresh token (IdentityService.RefreshToken, which also rotates
// the refresh token). The secret is kept for citizens only: it is their one
// way to sign in again, whereas staff and admins know their password and
// `login` again when the refresh token has expired or was revoked.
struct Session {
  std::string account_id;
  std::string role;
  std::string secret;
  std::string token;
  absl::Time token_expires_at = absl::InfiniteFuture();
  std::string refresh_token;
};

struct GlobalOptions {
  std::string server;
  std::string session_path;
  absl::Duration timeout;
  bool json = false;
  ChannelTlsOptions tls;
};

enum class Auth { kNone, kToken };

class Client {
 public:
  // `channels` lead to options.server and the --routes (routes.h), with
  // options.tls.
  Client(GlobalOptions options, std::shared_ptr<const RoutedChannels> channels);

  const GlobalOptions& options() const { return options_; }
  // Every service's channel (--server and --routes).
  const RoutedChannels& channels() const { return *channels_; }
  v1::IdentityService::Stub& identity() { return *identity_; }
  v1::CatalogService::Stub& catalog() { return *catalog_; }
  v1::ActionsService::Stub& actions() { return *actions_; }
  v1::LeaderboardService::Stub& leaderboard() { return *leaderboard_; }
  v1::EventsService::Stub& events() { return *events_; }
  v1::RewardsService::Stub& rewards() { return *rewards_; }
  v1::SurveysService::Stub& surveys() { return *surveys_; }
  v1::ReportsService::Stub& reports() { return *reports_; }
  const std::optional<Session>& session() const { return session_; }

  // Runs `rpc` with a fresh deadline and, for kToken, the session's bearer
  // token; a citizen's expired or refused token is renewed once with the
  // stored secret. On failure prints "error: CODE: message" and hints,
  // naming `retry_option` (see RetryOption) for a write that may have been
  // applied, so that a retry is applied only once.
  bool Call(Auth auth, const std::function<grpc::Status(grpc::ClientContext*)>& rpc,
            absl::string_view retry_option = "");

  // Loads the session file once; false (error printed) if it is unreadable.
  bool LoadSession();
  // A citizen's secret is stored nowhere else: never overwrite it with the
  // session of another account.
  bool MayReplaceSession(absl::string_view account_id);
  bool SaveSession(Session session);

  // Prints "error: MESSAGE"; returns false.
  static bool Fail(absl::string_view message);

 private:
  bool RequireSession();
  bool RenewToken();
  // Renews through RefreshToken; false (nothing printed) if that failed.
  bool RefreshSession();
  void PrintRpcError(const grpc::Status& status, Auth auth, absl::string_view retry_option) const;

  GlobalOptions options_;
  std::shared_ptr<const RoutedChannels> channels_;
  std::unique_ptr<v1::IdentityService::Stub> identity_;
  std::unique_ptr<v1::CatalogService::Stub> catalog_;
  std::unique_ptr<v1::ActionsService::Stub> actions_;
  std::unique_ptr<v1::LeaderboardService::Stub> leaderboard_;
  std::unique_ptr<v1::EventsService::Stub> events_;
  std::unique_ptr<v1::RewardsService::Stub> rewards_;
  std::unique_ptr<v1::SurveysService::Stub> surveys_;
  std::unique_ptr<v1::ReportsService::Stub> reports_;
  std::optional<Session> session_;
  bool session_loaded_ = false;
};

// Streams an export into the file `path`: written to `path`.partial,
// started afresh (truncated) on every attempt (a retry after a renewed
// token), and renamed to `path` once the call and the write both succeeded.
// On failure nothing is left under either name and the error is printed.
// `stream` reads the call's chunks into the stream it is given. With
// `excel_bom` the file starts with a UTF-8 byte order mark: Excel (in Japan
// it otherwise assumes Shift_JIS) then reads the UTF-8 text right.
bool SaveExport(Client& client, const std::string& path, bool excel_bom,
                const std::function<grpc::Status(grpc::ClientContext*, std::ostream&)>& stream);

// The shape of most commands: one call, then the response as JSON or text.
template <typename Response, typename Rpc, typename Printer>
int Exchange(Client& client, Auth auth, Rpc rpc, Printer print,
             absl::string_view retry_option = "") {
  Response response;
  if (!client.Call(
          auth, [&](grpc::ClientContext* c) { return rpc(c, &response); }, retry_option)) {
    return kExitError;
  }
  client.options().json ? PrintJson(response) : print(response);
  return kExitOk;
}

// ----------------------------------------------- board_commands.cc: commands

// Prints a GetLeaderboard page: title, entries (group columns on group
// boards), the total of a totals-only board, and the paging options.
void PrintBoardPage(const v1::GetLeaderboardRequest& request,
                    const v1::GetLeaderboardResponse& response);
int Ranks(Client& client, const Invocation& in);
int AdminOutliers(Client& client, const Invocation& in);

// ---------------------------------------------- events_commands.cc: commands

int EventCreate(Client& client, const Invocation& in);
int EventAssign(Client& client, const Invocation& in);
int EventList(Client& client, const Invocation& in);
int EventShow(Client& client, const Invocation& in);
int EventOpen(Client& client, const Invocation& in);
int EventClose(Client& client, const Invocation& in);
int CitizenCheckInCode(Client& client, const Invocation& in);
int EventCheckIn(Client& client, const Invocation& in);
int EventWeigh(Client& client, const Invocation& in);
int EventImport(Client& client, const Invocation& in);
int EventClosing(Client& client, const Invocation& in);
int EventCorrect(Client& client, const Invocation& in);
int EventAudit(Client& client, const Invocation& in);
int EventLiveView(Client& client, const Invocation& in);

// --------------------------------------------- rewards_commands.cc: commands

int Badges(Client& client, const Invocation& in);
int Streak(Client& client, const Invocation& in);
int CampaignCreate(Client& client, const Invocation& in);
int CampaignList(Client& client, const Invocation& in);
int CampaignProgress(Client& client, const Invocation& in);
// "Streak: 3 days (best 5) ...", shared with `record`.
void PrintStreak(const v1::Streak& streak);
// --------------------------------------------- surveys_commands.cc: commands

int SurveyCreate(Client& client, const Invocation& in);
int SurveyPublish(Client& client, const Invocation& in);
int SurveyList(Client& client, const Invocation& in);
int SurveyShow(Client& client, const Invocation& in);
int SurveyAnswer(Client& client, const Invocation& in);
int SurveyResults(Client& client, const Invocation& in);
int SurveyBehaviour(Client& client, const Invocation& in);
int SurveyExport(Client& client, const Invocation& in);

// ------------------------------------------------ demo_commands.cc: commands

int Demo(Client& client, const Invocation& in);

// --------------------------------------------- privacy_commands.cc: commands

int Export(Client& client, const Invocation& in);
int DeleteAccount(Client& client, const Invocation& in);

// ----------------------------------------------- teams_commands.cc: commands

int OrgCreate(Client& client, const Invocation& in);
int OrgList(Client& client, const Invocation& in);
int OrgLeave(Client& client, const Invocation& in);
int TeamCreate(Client& client, const Invocation& in);
int TeamList(Client& client, const Invocation& in);
int TeamLeave(Client& client, const Invocation& in);
int Join(Client& client, const Invocation& in);
int AdminTestAccount(Client& client, const Invocation& in);

// --------------------------------------------- reports_commands.cc: commands

int Report(Client& client, const Invocation& in);
int ReportExport(Client& client, const Invocation& in);

}  // namespace ecoact::cli
