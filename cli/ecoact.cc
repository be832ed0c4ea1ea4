// ecoact: the command-line client of the ecoact API, for trying every service
// without any other tool.
//
// The table in Commands() drives parsing, the usage text and dispatch. Every
// RPC goes through Client::Call, which sets the deadline and the bearer token,
// renews an expired access token with the stored refresh token (or, failing
// that, signs in again with the stored citizen secret), and prints a failure
// as "error: CODE: message".
//
// Options are parsed here instead of with absl flags: absl flags are global to
// the process and its parser exits 1 on an unknown flag, while each command
// accepts its own options and a usage error must exit 2.
//
// This file: options, output helpers, the session file, the Client, the
// account, action and board commands, the command table and main().
// events_commands.cc: the collection-drive commands. cli.h: what they share.
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli/cli.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"

namespace ecoact::cli {
namespace {

// ------------------------------------------------------------------ options

enum class Kind { kString, kFlag, kInt, kNumber, kDuration, kTime, kChoice };

struct OptionSpec {
  const char* name;
  Kind kind;
  // The placeholder in the usage text. For kChoice, the choices in the order
  // of the proto enum's values from 1, so that Invocation::Choice can map them.
  const char* value;
};

// Every option of every command; values are checked once, when parsed.
// clang-format off
constexpr OptionSpec kOptionSpecs[] = {
    {"server", Kind::kString, "HOST:PORT"},       {"session", Kind::kString, "FILE"},
    {"timeout", Kind::kDuration, "DURATION"},     {"json", Kind::kFlag, ""},
    {"help", Kind::kFlag, ""},                    {"nickname", Kind::kString, "NAME"},
    {"ward", Kind::kString, "WARD"},              {"team", Kind::kString, "TEAM"},
    {"join_code", Kind::kString, "CODE"},         {"account", Kind::kString, "ACCOUNT_ID|LOGIN"},
    {"secret", Kind::kString, "SECRET"},          {"request_id", Kind::kString, "ID"},
    {"at", Kind::kTime, "RFC3339"},               {"page_size", Kind::kInt, "N"},
    {"page_token", Kind::kString, "TOKEN"},       {"scope", Kind::kChoice, "city|ward|team|event|org|campaign"},
    {"id", Kind::kString, "WARD|TEAM|EVENT|ORG|CAMPAIGN_ID"},  {"period", Kind::kChoice, "all|month|week|day"},
    {"metric", Kind::kChoice, "points|co2"},      {"size", Kind::kInt, "N"},
    {"neighbours", Kind::kInt, "N"},              {"login", Kind::kString, "LOGIN"},
    {"password", Kind::kString, "PASSWORD"},      {"display_name", Kind::kString, "NAME"},
    // Collection drives and points.
    {"name", Kind::kString, "NAME"},              {"place", Kind::kString, "PLACE"},
    {"starts", Kind::kTime, "RFC3339"},           {"ends", Kind::kTime, "RFC3339"},
    {"types", Kind::kString, "TYPE,TYPE"},        {"kind", Kind::kChoice, "drive|point"},
    {"all", Kind::kFlag, ""},                     {"participant", Kind::kString, "PARTICIPANT_ID"},
    {"entry_id", Kind::kString, "ID"},            {"batch", Kind::kInt, "N"},
    {"void", Kind::kFlag, ""},                    {"weight", Kind::kNumber, "KG"},
    {"reason", Kind::kString, "TEXT"},            {"board", Kind::kInt, "N"},
    // Badges and campaigns.
    {"title", Kind::kString, "TEXT"},             {"multiplier", Kind::kNumber, "X"},
    {"target", Kind::kInt, "N"},                  {"my_target", Kind::kInt, "N"},
    {"badge_title", Kind::kString, "TEXT"},       {"state", Kind::kChoice, "upcoming|running|ended"},
    // Teams and organisations.
    {"org", Kind::kString, "ORG_ID"},             {"off", Kind::kFlag, ""},
    {"visibility", Kind::kChoice, "hidden|public"},
    // Group boards, around-me paging, outliers.
    {"level", Kind::kChoice, "teams|orgs|wards"}, {"per_member", Kind::kFlag, ""},
    {"around_me", Kind::kFlag, ""},               {"day", Kind::kString, "YYYY-MM-DD"},
    {"ratio", Kind::kNumber, "X"},                {"floor", Kind::kInt, "GRAMS"},
    {"limit", Kind::kInt, "N"},
    // Surveys.
    {"wave", Kind::kChoice, "before|after"},      {"event", Kind::kString, "EVENT_ID"},
    {"campaign", Kind::kString, "CAMPAIGN_ID"},   {"weeks", Kind::kInt, "N"},
    {"reference", Kind::kTime, "RFC3339"},        {"aggregates", Kind::kFlag, ""},
    {"free_text", Kind::kFlag, ""},               {"excel", Kind::kFlag, ""},
    // Impact reports.
    {"from", Kind::kString, "YYYY-MM"},           {"to", Kind::kString, "YYYY-MM"},
    {"top", Kind::kInt, "N"},
    // The demo pilot.
    {"citizens", Kind::kInt, "N"},                {"seed", Kind::kInt, "N"},
    {"days", Kind::kInt, "N"},                    {"parallel", Kind::kInt, "N"},
    // Personal data.
    {"out", Kind::kString, "FILE"},               {"confirm", Kind::kString, "ACCOUNT_ID"},
    // TLS to the server (global).
    {"tls_ca_file", Kind::kString, "FILE"},       {"tls_cert_file", Kind::kString, "FILE"},
    {"tls_key_file", Kind::kString, "FILE"},      {"tls_server_name", Kind::kString, "NAME"},
    // Split deployment (global).
    {"routes", Kind::kString, "SERVICE=HOST:PORT,..."},
};
// clang-format on
constexpr const char* kGlobalOptions[] = {"server",        "session",       "timeout",
                                          "json",          "help",          "tls_ca_file",
                                          "tls_cert_file", "tls_key_file",  "tls_server_name",
                                          "routes"};

const OptionSpec* FindOption(absl::string_view name) {
  for (const OptionSpec& spec : kOptionSpecs) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

// Checks `value` and puts it in canonical form (flags become "true"/"false").
bool NormalizeValue(const OptionSpec& spec, std::string* value) {
  bool flag;
  int number;
  double real;
  absl::Duration duration;
  absl::Time time;
  std::string error;
  std::vector<std::string> choices = absl::StrSplit(spec.value, '|');
  switch (spec.kind) {
    case Kind::kString:
      return true;
    case Kind::kFlag:
      if (!absl::SimpleAtob(*value, &flag)) return false;
      *value = flag ? "true" : "false";
      return true;
    case Kind::kInt:
      return absl::SimpleAtoi(*value, &number);
    case Kind::kNumber:
      return absl::SimpleAtod(*value, &real) && std::isfinite(real);
    case Kind::kDuration:
      return absl::ParseDuration(*value, &duration) && duration > absl::ZeroDuration();
    case Kind::kTime:
      return absl::ParseTime(absl::RFC3339_full, *value, &time, &error);
    case Kind::kChoice:
      return std::count(choices.begin(), choices.end(), *value) == 1;
  }
  return false;
}

Invocation ParseCommandLine(int argc, char** argv) {
  Invocation in;
  bool only_words = false;
  for (int i = 1; i < argc && in.error.empty(); ++i) {
    absl::string_view arg = argv[i];
    double number;  // a negative quantity is a word, for the server to judge
    if (only_words || arg.size() < 2 || arg[0] != '-' || absl::SimpleAtod(arg, &number)) {
      in.words.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      only_words = true;
      continue;
    }
    if (!absl::ConsumePrefix(&arg, "--")) absl::ConsumePrefix(&arg, "-");
    if (arg == "h") arg = "help";
    std::pair<std::string, std::string> option = absl::StrSplit(arg, absl::MaxSplits('=', 1));
    auto& [name, value] = option;
    bool has_value = absl::StrContains(arg, '=');
    const OptionSpec* spec = FindOption(name);
    if (spec == nullptr) {
      in.error = absl::StrCat("unknown option --", name);
    } else if (!has_value && spec->kind == Kind::kFlag) {
      in.options[name] = "true";
    } else if (!has_value && i + 1 == argc) {
      in.error = absl::StrCat("--", name, " needs a value");
    } else {
      if (!has_value) value = argv[++i];
      if (!NormalizeValue(*spec, &value)) {
        in.error = absl::StrCat("bad value '", value, "' for --", name, " (",
                                spec->kind == Kind::kFlag ? "true|false" : spec->value, ")");
      }
      in.options[name] = value;
    }
  }
  return in;
}

}  // namespace

int Invocation::Int(absl::string_view name, int fallback) const {
  int value = fallback;
  return absl::SimpleAtoi(Str(name), &value) ? value : fallback;
}

double Invocation::Number(absl::string_view name, double fallback) const {
  double value = fallback;
  return absl::SimpleAtod(Str(name), &value) ? value : fallback;
}

std::optional<absl::Time> Invocation::Time(absl::string_view name) const {
  absl::Time time;
  std::string error;
  if (!Has(name) || !absl::ParseTime(absl::RFC3339_full, Str(name), &time, &error)) {
    return std::nullopt;
  }
  return time;
}

int Invocation::Choice(absl::string_view name, absl::string_view fallback) const {
  std::vector<std::string> choices = absl::StrSplit(FindOption(name)->value, '|');
  return std::find(choices.begin(), choices.end(), Str(name, fallback)) - choices.begin() + 1;
}

// --------------------------------------------------------------- formatting

namespace {

std::string UnitLabel(v1::Unit unit) {
  constexpr const char* kLabels[] = {"?", "kg", "items", "km"};
  return unit >= 0 && unit < 4 ? kLabels[unit] : "?";
}

// Terminal columns of UTF-8 text. Characters of three or more bytes (kana,
// kanji, full-width forms) count as two, so that Japanese names line up.
size_t DisplayWidth(absl::string_view text) {
  size_t width = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) width += c >= 0xE0 ? 2 : 1;
  }
  return width;
}

void PrintTotals(const RepeatedPtrField<v1::Totals>& totals) {
  Rows rows = {{"PERIOD", "KEY", "CO2E AVOIDED", "POINTS", "ACTIONS"}};
  for (const v1::Totals& t : totals) {
    rows.push_back({Label(v1::Period_Name(t.period())), t.period_key(), FormatCo2(t.co2e_grams()),
                    absl::StrCat(t.points()), absl::StrCat(t.actions())});
  }
  PrintTable(rows);
}

void PrintProfile(const v1::Profile& p) {
  PrintTable({{"account", p.account_id()},
              {"role", Label(v1::Role_Name(p.role()))},
              {"nickname", p.nickname()},
              {"ward", p.ward().empty() ? "-" : p.ward()},
              {"team", p.team().empty() ? "-" : p.team()},
              {"organisation", p.organisation().empty() ? "-" : p.organisation()},
              {"public boards", p.hidden_from_public_boards() ? "hidden" : "shown"},
              {"test account", p.test_account() ? "yes" : "no"},
              {"created", ShowTime(p.created_at())}});
}

}  // namespace

std::string FormatMilli(int64_t milli) {
  uint64_t magnitude = milli < 0 ? 0 - static_cast<uint64_t>(milli) : milli;
  std::string out = absl::StrCat(milli < 0 ? "-" : "", magnitude / 1000);
  if (magnitude % 1000 == 0) return out;
  std::string fraction = absl::StrFormat("%03d", magnitude % 1000);
  return absl::StrCat(out, ".", absl::StripSuffix(absl::StripSuffix(fraction, "0"), "0"));
}

std::string FormatCo2(int64_t grams) {
  return absl::StrCat(grams, " g (", FormatMilli(grams), " kg)");
}

std::string Label(absl::string_view enum_name) {
  return absl::StrReplaceAll(absl::AsciiStrToLower(enum_name.substr(enum_name.find('_') + 1)),
                             {{"_", " "}});
}

absl::Time FromTimestamp(const Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return absl::InfiniteFuture();
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

Timestamp ToTimestamp(absl::Time time) {
  Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(time));
  ts.set_nanos((time - absl::FromUnixSeconds(ts.seconds())) / absl::Nanoseconds(1));
  return ts;
}

std::string ShowTime(absl::Time time) {
  if (time == absl::InfiniteFuture()) return "-";
  return absl::FormatTime(absl::RFC3339_sec, time, absl::LocalTimeZone());
}
std::string ShowTime(const Timestamp& ts) { return ShowTime(FromTimestamp(ts)); }

void PrintTable(const Rows& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], DisplayWidth(row[c]));
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      absl::StrAppend(&line, row[c], std::string(widths[c] - DisplayWidth(row[c]) + 2, ' '));
    }
    std::printf("%s\n", std::string(absl::StripTrailingAsciiWhitespace(line)).c_str());
  }
}

void PrintJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) json = "{}";
  std::printf("%s%s", json.c_str(), absl::EndsWith(json, "\n") ? "" : "\n");
}

Rows BoardRows(v1::Metric metric, std::vector<const RepeatedPtrField<v1::BoardEntry>*> parts) {
  Rows rows = {{"RANK", "NICKNAME", "SCORE", ""}};
  for (const auto* part : parts) {
    for (const v1::BoardEntry& e : *part) {
      std::string score =
          metric == v1::METRIC_CO2E_GRAMS ? FormatCo2(e.score()) : absl::StrCat(e.score());
      rows.push_back({absl::StrCat(e.rank()), e.nickname(), score, e.is_me() ? "<- you" : ""});
    }
  }
  return rows;
}

// ------------------------------------------------------------------ session

namespace {

absl::Status ErrnoError(absl::string_view what, absl::string_view path) {
  return absl::UnavailableError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

absl::StatusOr<std::optional<Session>> ReadSession(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return std::nullopt;
    return ErrnoError("cannot read", path);
  }
  if ((info.st_mode & 077) != 0) {
    std::fprintf(stderr, "warning: other users can read %s; run: chmod 600 %s\n", path.c_str(),
                 path.c_str());
  }
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  if (!file) return ErrnoError("cannot read", path);
  nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  auto field = [&json](const char* key) {
    auto it = json.is_object() ? json.find(key) : json.end();
    return it != json.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  Session session;
  session.account_id = field("account_id");
  session.role = field("role");
  session.secret = field("secret");
  session.token = field("token");
  session.refresh_token = field("refresh_token");
  std::string expires = field("token_expires_at"), error;
  if (session.token.empty()) session.token_expires_at = absl::InfinitePast();  // signed out
  if (session.account_id.empty() ||
      (session.token.empty() && session.secret.empty() && session.refresh_token.empty()) ||
      (!expires.empty() &&
       !absl::ParseTime(absl::RFC3339_full, expires, &session.token_expires_at, &error))) {
    return absl::DataLossError(absl::StrCat(path, " is not a valid session file; move it away"));
  }
  return session;
}

// Writes a 0600 temporary file and renames it into place, so that a crash
// never leaves half a session, and a lost citizen secret, behind.
absl::Status WriteSession(const std::string& path, const Session& session) {
  nlohmann::json json = {
      {"account_id", session.account_id}, {"role", session.role}, {"token", session.token}};
  if (!session.secret.empty()) json["secret"] = session.secret;
  if (!session.refresh_token.empty()) json["refresh_token"] = session.refresh_token;
  if (session.token_expires_at != absl::InfiniteFuture() &&
      session.token_expires_at != absl::InfinitePast()) {
    json["token_expires_at"] =
        absl::FormatTime(absl::RFC3339_sec, session.token_expires_at, absl::UTCTimeZone());
  }
  std::string text = json.dump(2) + "\n";
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    mkdir(path.substr(0, slash).c_str(), 0700);  // an error shows in open() below
  }
  std::string temp = absl::StrCat(path, ".tmp.", getpid());
  int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("cannot write", temp);
  bool written = fchmod(fd, 0600) == 0 &&  // whatever the umask or a stale file had
                 write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                 fsync(fd) == 0;
  if (close(fd) != 0 || !written || rename(temp.c_str(), path.c_str()) != 0) {
    absl::Status error = ErrnoError("cannot write", path);
    unlink(temp.c_str());
    return error;
  }
  return absl::OkStatus();
}

// A secret from the terminal without echo, or one line from a pipe, so that
// passwords stay out of the shell history and the process list.
std::optional<std::string> ReadSecret(const char* prompt) {
  termios saved;
  bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
  if (tty) {
    std::fprintf(stderr, "%s: ", prompt);
    termios quiet = saved;
    quiet.c_lflag &= ~ECHO;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  bool read = static_cast<bool>(std::getline(std::cin, line));
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::fputc('\n', stderr);
  }
  absl::StripTrailingAsciiWhitespace(&line);
  if (!read || line.empty()) return std::nullopt;
  return line;
}

}  // namespace

std::string NewRequestId() {
  std::random_device random;
  std::string id;
  for (int i = 0; i < 4; ++i) absl::StrAppend(&id, absl::Hex(random(), absl::kZeroPad8));
  return id;
}

std::string RetryOption(absl::string_view option, absl::string_view value) {
  return absl::StrCat("--", option, "=", value);
}

// ------------------------------------------------------------------- client

namespace {

// The services the CLI calls: the names --routes may route.
std::set<std::string> CalledServices() {
  return {v1::IdentityService::service_full_name(), v1::CatalogService::service_full_name(),
          v1::ActionsService::service_full_name(),  v1::LeaderboardService::service_full_name(),
          v1::EventsService::service_full_name(),   v1::RewardsService::service_full_name(),
          v1::SurveysService::service_full_name(),  v1::ReportsService::service_full_name()};
}

}  // namespace

Client::Client(GlobalOptions options, std::shared_ptr<const RoutedChannels> channels)
    : options_(std::move(options)),
      channels_(std::move(channels)),
      identity_(
          v1::IdentityService::NewStub(channels_->For(v1::IdentityService::service_full_name()))),
      catalog_(
          v1::CatalogService::NewStub(channels_->For(v1::CatalogService::service_full_name()))),
      actions_(
          v1::ActionsService::NewStub(channels_->For(v1::ActionsService::service_full_name()))),
      leaderboard_(v1::LeaderboardService::NewStub(
          channels_->For(v1::LeaderboardService::service_full_name()))),
      events_(v1::EventsService::NewStub(channels_->For(v1::EventsService::service_full_name()))),
      rewards_(
          v1::RewardsService::NewStub(channels_->For(v1::RewardsService::service_full_name()))),
      surveys_(
          v1::SurveysService::NewStub(channels_->For(v1::SurveysService::service_full_name()))),
      reports_(
          v1::ReportsService::NewStub(channels_->For(v1::ReportsService::service_full_name()))) {}

bool SaveExport(Client& client, const std::string& path, bool excel_bom,
                const std::function<grpc::Status(grpc::ClientContext*, std::ostream&)>& stream) {
  const std::string partial = path + ".partial";
  bool written = true;
  if (!client.Call(Auth::kToken, [&](grpc::ClientContext* c) {
        std::ofstream out(partial, std::ios::binary | std::ios::trunc);
        if (excel_bom) out << "\xEF\xBB\xBF";
        grpc::Status status = stream(c, out);
        out.close();
        written = static_cast<bool>(out);
        return status;
      })) {
    std::remove(partial.c_str());
    return false;
  }
  if (!written || std::rename(partial.c_str(), path.c_str()) != 0) {
    std::remove(partial.c_str());
    Client::Fail(absl::StrCat("could not write ", path));
    return false;
  }
  return true;
}

bool Client::Call(Auth auth, const std::function<grpc::Status(grpc::ClientContext*)>& rpc,
                  absl::string_view retry_option) {
  if (auth == Auth::kToken && !RequireSession()) return false;
  bool renewed = false;
  if (auth == Auth::kToken && absl::Now() + absl::Seconds(30) >= session_->token_expires_at) {
    if (!RenewToken()) return false;
    renewed = true;
  }
  for (;; renewed = true) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
    if (auth == Auth::kToken) context.AddMetadata("authorization", "Bearer " + session_->token);
    grpc::Status status = rpc(&context);
    if (status.ok()) return true;
    if (status.error_code() != grpc::StatusCode::UNAUTHENTICATED || auth != Auth::kToken ||
        (session_->secret.empty() && session_->refresh_token.empty()) || renewed) {
      PrintRpcError(status, auth, retry_option);
      return false;
    }
    if (!RenewToken()) return false;
  }
}

bool Client::LoadSession() {
  if (session_loaded_) return true;
  absl::StatusOr<std::optional<Session>> session = ReadSession(options_.session_path);
  if (!session.ok()) return Fail(session.status().message());
  session_ = *std::move(session);
  return session_loaded_ = true;
}

bool Client::MayReplaceSession(absl::string_view account_id) {
  if (!LoadSession()) return false;
  if (!session_ || session_->secret.empty() || session_->account_id == account_id) return true;
  return Fail(absl::StrCat(options_.session_path, " holds citizen account ", session_->account_id,
                           " and its only copy of the secret; pass --session=OTHER_FILE for "
                           "another account, or move that file away first"));
}

bool Client::SaveSession(Session session) {
  session_ = std::move(session);
  session_loaded_ = true;
  absl::Status saved = WriteSession(options_.session_path, *session_);
  return saved.ok() || Fail(saved.message());
}

bool Client::Fail(absl::string_view message) {
  std::fprintf(stderr, "error: %s\n", std::string(message).c_str());
  return false;
}

bool Client::RequireSession() {
  if (!LoadSession()) return false;
  return session_.has_value() ||
         Fail(absl::StrCat("not signed in (no ", options_.session_path,
                           "); run `ecoact register --nickname=NAME --ward=WARD` or "
                           "`ecoact login --account=ID` first"));
}

bool Client::RefreshSession() {
  if (session_->refresh_token.empty()) return false;
  v1::RefreshTokenRequest request;
  request.set_refresh_token(session_->refresh_token);
  v1::RefreshTokenResponse response;
  grpc::Status status;
  // A retry with the same refresh token within 30 s gets the same new one
  // (see the proto), so a lost reply is safe to retry once.
  for (int attempt = 0; attempt < 2; ++attempt) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
    status = identity_->RefreshToken(&context, request, &response);
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE &&
        status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      break;
    }
  }
  Session renewed = *session_;
  if (!status.ok()) {
    if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
      renewed.refresh_token.clear();  // dead: do not present it again
      SaveSession(std::move(renewed));
    }
    std::fprintf(stderr, "note: could not refresh the token: %s\n", status.error_message().c_str());
    return false;
  }
  renewed.token = response.token();
  renewed.token_expires_at = FromTimestamp(response.token_expires_at());
  renewed.refresh_token = response.refresh_token();
  SaveSession(std::move(renewed));  // if saving fails, the new token still serves this run
  return true;
}

bool Client::RenewToken() {
  if (RefreshSession()) return true;
  if (session_->secret.empty()) {
    return Fail(absl::StrCat("the session has expired; sign in again: ecoact login --account=",
                             session_->account_id));
  }
  v1::SignInRequest request;
  request.set_account_id(session_->account_id);
  request.set_secret(session_->secret);
  v1::SignInResponse response;
  if (!Call(Auth::kNone, [&](auto* c) { return identity_->SignIn(c, request, &response); })) {
    return false;
  }
  Session renewed = *session_;
  renewed.token = response.token();
  renewed.token_expires_at = FromTimestamp(response.token_expires_at());
  renewed.refresh_token = response.refresh_token();
  SaveSession(std::move(renewed));  // if saving fails, the new token still serves this run
  return true;
}

void Client::PrintRpcError(const grpc::Status& status, Auth auth,
                           absl::string_view retry_option) const {
  auto code = static_cast<absl::StatusCode>(status.error_code());
  std::fprintf(stderr, "error: %s: %s\n", absl::StatusCodeToString(code).c_str(),
               status.error_message().c_str());
  if (code == absl::StatusCode::kUnavailable) {
    if (channels_->routes().services.empty()) {
      std::fprintf(stderr,
                   "hint: is the ecoact server running at %s? (deploy/local/run.sh starts one)\n",
                   options_.server.c_str());
    } else {
      std::fprintf(stderr,
                   "hint: is the server of this command's service running? --routes sends each "
                   "service to its own (--server: the others)\n");
    }
    if (options_.tls.enabled()) {
      std::fprintf(stderr,
                   "hint: with TLS, --tls_ca_file must hold the CA that signed the server's "
                   "certificate, which must name the host of --server (or --tls_server_name); "
                   "a server with mutual TLS also needs --tls_cert_file and --tls_key_file\n");
    }
  } else if (code == absl::StatusCode::kUnauthenticated && auth == Auth::kToken) {
    std::fprintf(stderr, "hint: sign in again with `ecoact login`\n");
  }
  bool maybe_applied = code == absl::StatusCode::kUnavailable ||
                       code == absl::StatusCode::kDeadlineExceeded ||
                       code == absl::StatusCode::kCancelled;
  if (maybe_applied && !retry_option.empty()) {
    std::fprintf(stderr, "hint: retrying with %s is safe: it is applied at most once\n",
                 std::string(retry_option).c_str());
  }
}

// ----------------------------------------------------------------- commands

namespace {

Session SessionFrom(const std::string& account_id, v1::Role role, const std::string& secret,
                    const std::string& token, const Timestamp& expires_at,
                    const std::string& refresh_token) {
  return {account_id, Label(v1::Role_Name(role)), role == v1::ROLE_CITIZEN ? secret : "", token,
          FromTimestamp(expires_at), refresh_token};
}

int Register(Client& client, const Invocation& in) {
  v1::RegisterRequest request;
  request.set_request_id(in.Str("request_id", NewRequestId()));
  request.set_nickname(in.Str("nickname"));
  request.set_ward(in.Str("ward"));
  request.set_join_code(in.Str("join_code"));
  v1::RegisterResponse r;
  if (!client.MayReplaceSession("") ||
      !client.Call(
          Auth::kNone, [&](auto* c) { return client.identity().Register(c, request, &r); },
          RetryOption("request_id", request.request_id()))) {
    return kExitError;
  }
  if (!client.SaveSession(SessionFrom(r.account_id(), v1::ROLE_CITIZEN, r.account_secret(),
                                      r.token(), r.token_expires_at(), r.refresh_token()))) {
    std::fprintf(stderr, "Write down the secret of account %s, it is shown only once: %s\n",
                 r.account_id().c_str(), r.account_secret().c_str());
    return kExitError;
  }
  if (client.options().json) {
    PrintJson(r);
    return kExitOk;
  }
  std::printf(
      "Registered account %s (nickname %s, ward %s).\n"
      "Its secret and a token are saved in %s (mode 0600):\n"
      "keep that file, the secret is the only way to sign in to this account again.\n",
      r.account_id().c_str(), request.nickname().c_str(), request.ward().c_str(),
      client.options().session_path.c_str());
  return kExitOk;
}

int Login(Client& client, const Invocation& in) {
  v1::SignInRequest request;
  request.set_account_id(in.Str("account"));
  std::optional<std::string> secret =
      in.Has("secret") ? in.Str("secret") : ReadSecret("secret or password");
  if (!secret) return UsageError(in, "give --secret, or type or pipe it on standard input");
  request.set_secret(*secret);
  v1::SignInResponse r;
  if (!client.MayReplaceSession(request.account_id()) ||
      !client.Call(Auth::kNone,
                   [&](auto* c) { return client.identity().SignIn(c, request, &r); }) ||
      !client.SaveSession(SessionFrom(request.account_id(), r.profile().role(), request.secret(),
                                      r.token(), r.token_expires_at(), r.refresh_token()))) {
    return kExitError;
  }
  if (client.options().json) {
    PrintJson(r);
    return kExitOk;
  }
  std::printf("Signed in as %s (%s) until %s; session saved in %s.\n", request.account_id().c_str(),
              Label(v1::Role_Name(r.profile().role())).c_str(),
              ShowTime(r.token_expires_at()).c_str(), client.options().session_path.c_str());
  return kExitOk;
}

// Revokes the session's refresh token. A citizen's session file keeps the
// account id and secret (the only way back into the account); a staff or
// admin session file is removed.
int Logout(Client& client, const Invocation&) {
  if (!client.LoadSession()) return kExitError;
  if (!client.session()) {
    std::printf("Not signed in (no %s).\n", client.options().session_path.c_str());
    return kExitOk;
  }
  Session session = *client.session();
  if (!session.refresh_token.empty()) {
    v1::SignOutRequest request;
    request.set_refresh_token(session.refresh_token);
    v1::SignOutResponse r;
    if (!client.Call(Auth::kNone,
                     [&](auto* c) { return client.identity().SignOut(c, request, &r); })) {
      return kExitError;
    }
  }
  if (session.secret.empty()) {
    if (unlink(client.options().session_path.c_str()) != 0 && errno != ENOENT) {
      return Client::Fail(absl::StrCat("cannot remove ", client.options().session_path, ": ",
                                       std::strerror(errno)));
    }
    std::printf("Signed out; removed %s.\n", client.options().session_path.c_str());
    return kExitOk;
  }
  session.token.clear();
  session.refresh_token.clear();
  session.token_expires_at = absl::InfinitePast();
  if (!client.SaveSession(std::move(session))) return kExitError;
  std::printf("Signed out: the refresh token is revoked. %s keeps the account id and secret,\n"
              "the only way back into this account; the next command signs in with them.\n",
              client.options().session_path.c_str());
  return kExitOk;
}

int Whoami(Client& client, const Invocation&) {
  return Exchange<v1::Profile>(
      client, Auth::kToken,
      [&](auto* c, auto* out) {
        return client.identity().GetMyProfile(c, v1::GetMyProfileRequest(), out);
      },
      [&](const v1::Profile& p) {
        PrintProfile(p);
        std::printf("token valid until %s\n", ShowTime(client.session()->token_expires_at).c_str());
      });
}

int Profile(Client& client, const Invocation& in) {
  if (!in.Has("nickname") && !in.Has("ward") && !in.Has("visibility")) {
    return UsageError(in, "give at least one of --nickname, --ward, --visibility");
  }
  v1::UpdateMyProfileRequest request;
  request.set_request_id(in.Str("request_id", NewRequestId()));
  request.set_nickname(in.Str("nickname"));
  request.set_ward(in.Str("ward"));
  if (in.Has("visibility")) {
    request.set_visibility(static_cast<v1::Visibility>(in.Choice("visibility", "public")));
  }
  return Exchange<v1::Profile>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.identity().UpdateMyProfile(c, request, out); },
      PrintProfile, RetryOption("request_id", request.request_id()));
}

int Wards(Client& client, const Invocation&) {
  return Exchange<v1::ListWardsResponse>(
      client, Auth::kNone,
      [&](auto* c, auto* out) {
        return client.identity().ListWards(c, v1::ListWardsRequest(), out);
      },
      [](const v1::ListWardsResponse& r) {
        Rows rows = {{"WARD", "NAME"}};
        for (const v1::Ward& w : r.wards()) rows.push_back({w.id(), w.name()});
        PrintTable(rows);
      });
}

std::string FormatCap(const v1::ActionType& t) {
  if (t.daily_cap_milli() == 0) return "none";
  return absl::StrCat(FormatMilli(t.daily_cap_milli()), " ", UnitLabel(t.unit()), "/day");
}

int Catalog(Client& client, const Invocation&) {
  return Exchange<v1::ListActionTypesResponse>(
      client, Auth::kToken,
      [&](auto* c, auto* out) {
        return client.catalog().ListActionTypes(c, v1::ListActionTypesRequest(), out);
      },
      [](const v1::ListActionTypesResponse& r) {
        Rows rows = {
            {"ACTION TYPE", "NAME", "UNIT", "FACTOR", "CONFIDENCE", "POINTS/UNIT", "DAILY CAP"}};
        for (const v1::ActionType& t : r.action_types()) {
          rows.push_back({t.id(), t.name_en(), UnitLabel(t.unit()), t.current_factor().display(),
                          Label(v1::Confidence_Name(t.current_factor().confidence())),
                          absl::StrCat(t.points_per_unit()), FormatCap(t)});
        }
        PrintTable(rows);
        std::printf("\ncatalogue %s; `ecoact factor ACTION_TYPE` shows a factor's sources\n",
                    r.catalog_version().c_str());
      });
}

int Factor(Client& client, const Invocation& in) {
  v1::GetFactorRequest request;
  request.set_action_type(in.Arg(0));
  return Exchange<v1::GetFactorResponse>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.catalog().GetFactor(c, request, out); },
      [](const v1::GetFactorResponse& r) {
        const v1::ActionType& t = r.action_type();
        std::printf(
            "%s: %s / %s, category %s\nquantity %s to %s %s per action, %lld points per unit, "
            "daily cap %s\n",
            t.id().c_str(), t.name_en().c_str(), t.name_ja().c_str(), t.category().c_str(),
            FormatMilli(t.min_quantity_milli()).c_str(),
            FormatMilli(t.max_quantity_milli()).c_str(), UnitLabel(t.unit()).c_str(),
            static_cast<long long>(t.points_per_unit()), FormatCap(t).c_str());
        for (const v1::Factor& f : r.versions()) {
          std::printf("\nv%d  %s  confidence %s, for actions from %s until %s\n", f.version(),
                      f.display().c_str(), Label(v1::Confidence_Name(f.confidence())).c_str(),
                      ShowTime(f.valid_from()).c_str(),
                      f.has_valid_until() ? ShowTime(f.valid_until()).c_str() : "now");
          if (!f.basis().empty()) std::printf("  basis: %s\n", f.basis().c_str());
          if (!f.derivation().empty()) std::printf("  derivation: %s\n", f.derivation().c_str());
          for (const v1::Source& s : f.sources()) {
            std::string year = s.year() > 0 ? ", " + std::to_string(s.year()) : "";
            std::printf("  source: %s, %s%s\n          %s\n", s.title().c_str(),
                        s.publisher().c_str(), year.c_str(), s.url().c_str());
          }
        }
      });
}

// Fills action type, quantity and --at; false if QUANTITY is not a number.
template <typename Request>
bool ActionArguments(const Invocation& in, Request* request) {
  double quantity;
  absl::Time at;
  std::string error;
  if (!absl::SimpleAtod(in.Arg(1), &quantity) || !std::isfinite(quantity)) return false;
  request->set_action_type(in.Arg(0));
  request->set_quantity(quantity);
  if (absl::ParseTime(absl::RFC3339_full, in.Str("at"), &at, &error)) {
    *request->mutable_occurred_at() = ToTimestamp(at);
  }
  return true;
}

int Preview(Client& client, const Invocation& in) {
  v1::PreviewImpactRequest request;
  if (!ActionArguments(in, &request))
    return UsageError(in, "QUANTITY must be a number, such as 2.5");
  return Exchange<v1::PreviewImpactResponse>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.catalog().PreviewImpact(c, request, out); },
      [&](const v1::PreviewImpactResponse& r) {
        PrintTable(
            {{"preview", absl::StrCat(FormatMilli(r.quantity_milli()), " of ",
                                      request.action_type(), " (nothing recorded)")},
             {"CO2e avoided", FormatCo2(r.co2e_grams())},
             {"points", absl::StrCat(r.points())},
             {"factor", absl::StrCat("v", r.factor().version(), ": ", r.factor().display())}});
      });
}

int Record(Client& client, const Invocation& in) {
  v1::RecordActionRequest request;
  if (!ActionArguments(in, &request))
    return UsageError(in, "QUANTITY must be a number, such as 2.5");
  request.set_request_id(in.Str("request_id", NewRequestId()));
  return Exchange<v1::RecordActionResponse>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.actions().RecordAction(c, request, out); },
      [](const v1::RecordActionResponse& r) {
        const v1::LedgerEntry& e = r.entry();
        Rows rows = {
            {"recorded", absl::StrCat(FormatMilli(e.quantity_milli()), " ", UnitLabel(e.unit()),
                                      " of ", e.action_type(), " at ", ShowTime(e.occurred_at()))},
            {"CO2e avoided", FormatCo2(e.co2e_grams())},
            {"points", absl::StrCat(e.points())}};
        if (e.bonus_points() > 0) {
          std::string campaigns;
          for (const auto& id : e.campaign_ids()) absl::StrAppend(&campaigns, campaigns.empty() ? "" : ", ", id);
          rows.push_back({"campaign bonus", absl::StrCat(e.bonus_points(), " points included (",
                                                         campaigns, ")")});
        }
        if (!e.team().empty() || !e.organisation().empty()) {
          rows.push_back({"counts for", absl::StrCat("team ", e.team().empty() ? "-" : e.team(),
                                                     ", organisation ",
                                                     e.organisation().empty() ? "-" : e.organisation())});
        }
        rows.push_back({"factor", e.factor_version()});
        rows.push_back({"request id", e.request_id()});
        rows.push_back({"replayed", r.replayed() ? "yes: recorded before, nothing changed" : "no"});
        PrintTable(rows);
        if (!r.new_badges().empty()) std::printf("\n");
        for (const v1::BadgeAward& b : r.new_badges()) {
          std::printf("new badge: %s (%s)\n", b.title().c_str(), b.badge_id().c_str());
        }
        std::printf("\n");
        PrintStreak(r.streak());
        std::printf("\nyour totals:\n");
        PrintTotals(r.totals());
      },
      RetryOption("request_id", request.request_id()));
}

int History(Client& client, const Invocation& in) {
  v1::ListMyActionsRequest request;
  request.set_page_size(in.Int("page_size", 0));
  request.set_page_token(in.Str("page_token"));
  return Exchange<v1::ListMyActionsResponse>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.actions().ListMyActions(c, request, out); },
      [](const v1::ListMyActionsResponse& r) {
        Rows rows = {
            {"OCCURRED AT", "ACTION TYPE", "QUANTITY", "CO2E AVOIDED", "POINTS", "FACTOR"}};
        for (const v1::LedgerEntry& e : r.entries()) {
          rows.push_back({ShowTime(e.occurred_at()), e.action_type(),
                          absl::StrCat(FormatMilli(e.quantity_milli()), " ", UnitLabel(e.unit())),
                          FormatCo2(e.co2e_grams()), absl::StrCat(e.points()), e.factor_version()});
        }
        PrintTable(rows);
        if (!r.next_page_token().empty())
          std::printf("\nmore: --page_token=%s\n", r.next_page_token().c_str());
      });
}

int Impact(Client& client, const Invocation&) {
  return Exchange<v1::GetMyImpactResponse>(
      client, Auth::kToken,
      [&](auto* c, auto* out) {
        return client.actions().GetMyImpact(c, v1::GetMyImpactRequest(), out);
      },
      [](const v1::GetMyImpactResponse& r) {
        PrintTotals(r.totals());
        for (const v1::CategoryTotals& category : r.by_category()) {
          std::printf("\n%s:\n", category.category().c_str());
          PrintTotals(category.totals());
        }
      });
}

// Fills the board named by --scope, --id, --period and --metric (default:
// city, all time, points); a usage error message for a board that cannot exist.
std::string BoardFromOptions(const Invocation& in, v1::BoardRef* board) {
  board->set_scope(static_cast<v1::Scope>(in.Choice("scope", "city")));
  board->set_scope_id(in.Str("id"));
  board->set_period(static_cast<v1::Period>(in.Choice("period", "all")));
  board->set_metric(static_cast<v1::Metric>(in.Choice("metric", "points")));
  // Choices "teams|orgs|wards" are the enum's values 1..3 (0: citizens).
  if (in.Has("level")) board->set_level(static_cast<v1::Level>(in.Choice("level", "teams")));
  board->set_per_active_member(in.Flag("per_member"));
  if (board->per_active_member() && board->level() == v1::LEVEL_UNSPECIFIED) {
    return "--per_member ranks groups: give --level=teams|orgs|wards too";
  }
  if (board->scope() == v1::SCOPE_EVENT) {
    if (board->scope_id().empty()) {
      return "--scope=event needs --id=EVENT_ID (`ecoact event list` shows the ids)";
    }
    if (board->period() != v1::PERIOD_ALL_TIME) {
      return "an event board has the all-time period only; leave out --period";
    }
  }
  return "";
}

// Prints the board's title, then its entries as a table.
void PrintBoard(const v1::BoardRef& board, int64_t total_ranked, const std::string& period_key,
                const Timestamp& ends_at,
                std::vector<const RepeatedPtrField<v1::BoardEntry>*> parts) {
  std::printf("%s%s board, %s, by %s: %lld ranked", Label(v1::Scope_Name(board.scope())).c_str(),
              board.scope_id().empty() ? "" : (" " + board.scope_id()).c_str(),
              Label(v1::Period_Name(board.period())).c_str(),
              Label(v1::Metric_Name(board.metric())).c_str(), static_cast<long long>(total_ranked));
  if (ends_at.seconds() != 0) {  // unset for all time
    std::printf("; %s ends %s", period_key.c_str(), ShowTime(ends_at).c_str());
  }
  std::printf("\n\n");
  PrintTable(BoardRows(board.metric(), std::move(parts)));
}

int Board(Client& client, const Invocation& in) {
  v1::GetLeaderboardRequest request;
  if (std::string error = BoardFromOptions(in, request.mutable_board()); !error.empty()) {
    return UsageError(in, error);
  }
  request.set_page_size(in.Int("size", 20));
  request.set_page_token(in.Str("page_token"));
  request.set_around_me(in.Flag("around_me"));
  return Exchange<v1::GetLeaderboardResponse>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.leaderboard().GetLeaderboard(c, request, out); },
      [&](const v1::GetLeaderboardResponse& r) { PrintBoardPage(request, r); });
}

int Rank(Client& client, const Invocation& in) {
  v1::GetMyRankRequest request;
  if (std::string error = BoardFromOptions(in, request.mutable_board()); !error.empty()) {
    return UsageError(in, error);
  }
  request.set_neighbours(in.Int("neighbours", 2));
  return Exchange<v1::GetMyRankResponse>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.leaderboard().GetMyRank(c, request, out); },
      [&](const v1::GetMyRankResponse& r) {
        RepeatedPtrField<v1::BoardEntry> me;
        if (r.ranked()) {
          *me.Add() = r.me();
          me[0].set_is_me(true);
        }
        PrintBoard(request.board(), r.total_ranked(), r.period_key(), r.period_ends_at(),
                   {&r.above(), &me, &r.below()});
        if (r.ranked()) return;
        std::printf(request.board().scope() == v1::SCOPE_EVENT
                        ? "You are not on this board: check in at the event and have your items "
                          "weighed there.\n"
                        : "You are not on this board yet: `ecoact record` an action first.\n");
      });
}

int CreateStaff(Client& client, const Invocation& in) {
  v1::CreateStaffRequest request;
  request.set_request_id(in.Str("request_id", NewRequestId()));
  request.set_login(in.Str("login"));
  request.set_display_name(in.Str("display_name"));
  std::optional<std::string> password =
      in.Has("password") ? in.Str("password") : ReadSecret("password of the new staff account");
  if (!password) return UsageError(in, "give --password, or type or pipe it on standard input");
  request.set_password(*password);
  return Exchange<v1::Profile>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.identity().CreateStaff(c, request, out); },
      [](const v1::Profile& p) {
        PrintProfile(p);
        std::printf("\nThe staff member signs in with: ecoact login --account=%s\n",
                    p.account_id().c_str());
      },
      RetryOption("request_id", request.request_id()));
}

}  // namespace

// ------------------------------------------------------------ command table

struct OptionUse {
  const char* name;
  bool required;
};

struct Command {
  const char* name;  // one or two words: "record", "admin create-staff"
  // Its arguments: required ones, then optional ones in brackets; a last
  // "[NAME...]" takes any number.
  const char* args;
  std::vector<OptionUse> options;
  const char* summary;
  int (*run)(Client&, const Invocation&);
  const char* heading = nullptr;  // starts a group of commands in the usage text
};

namespace {

const std::vector<Command>& Commands() {
  // clang-format off
  static const auto* commands = new std::vector<Command>{
    {"register", "", {{"nickname", true}, {"ward", true}, {"join_code", false}, {"request_id", false}},
     "create a citizen account, joining a team or organisation with --join_code;\n"
     "      save its secret and token in the session file", Register,
     "accounts, actions and boards:"},
    {"login", "", {{"account", true}, {"secret", false}},
     "sign in with a citizen account id and secret, or a staff/admin login and\n"
     "      password; without --secret, it is read from standard input", Login},
    {"logout", "", {},
     "revoke the session's refresh token (staff/admin: also remove the session file;\n"
     "      citizens keep their secret in it). Access tokens last 15 minutes and are\n"
     "      renewed with the refresh token by every command", Logout},
    {"whoami", "", {}, "show your profile", Whoami},
    {"profile", "", {{"nickname", false}, {"ward", false}, {"visibility", false},
                     {"request_id", false}},
     "change your nickname or ward; --visibility=hidden keeps you off public boards\n"
     "      (you still count in your team's and ward's totals)", Profile},
    {"export", "", {{"out", false}},
     "save everything the service holds about you (profile, every action, badges,\n"
     "      streak, totals, survey answers) as JSON to --out=FILE, or print it", Export},
    {"delete-account", "", {{"confirm", true}, {"request_id", false}},
     "delete your account for good: --confirm=YOUR_ACCOUNT_ID; your actions stay in\n"
     "      the totals, no longer linked to you; removes the local session file", DeleteAccount},
    {"wards", "", {}, "list the wards a citizen can pick (no sign-in needed)", Wards},
    {"catalog", "", {}, "list the action types: unit, factor, confidence, points, daily cap", Catalog},
    {"factor", "ACTION_TYPE", {}, "show every version of an action type's factor, with its sources", Factor},
    {"preview", "ACTION_TYPE QUANTITY", {{"at", false}},
     "show the CO2e and points an action would give, without recording it", Preview},
    {"record", "ACTION_TYPE QUANTITY", {{"at", false}, {"request_id", false}},
     "record an action, QUANTITY in the type's unit; retries reuse --request_id", Record},
    {"history", "", {{"page_size", false}, {"page_token", false}},
     "list your recorded actions, newest first", History},
    {"impact", "", {}, "show your totals: today, this week, this month, all time; by category", Impact},
    {"board", "", {{"scope", false}, {"id", false}, {"period", false}, {"metric", false}, {"size", false},
                   {"page_token", false}, {"level", false}, {"per_member", false}, {"around_me", false}},
     "show a leaderboard (default: city, all, points, 20 entries); an event's\n"
     "      board: --scope=event --id=EVENT_ID, all time only; teams, organisations or\n"
     "      wards racing: --level=teams|orgs|wards [--per_member]; --around_me: your page", Board},
    {"ranks", "", {}, "show your rank on every board you belong to, in one call", Ranks},
    {"admin outliers", "", {{"day", false}, {"ratio", false}, {"floor", false}, {"limit", false}},
     "list citizens whose day CO2 is over --ratio (5) x the day's median and --floor\n"
     "      (1000 g), as an admin (default: today)", AdminOutliers},
    {"rank", "", {{"scope", false}, {"id", false}, {"period", false}, {"metric", false}, {"neighbours", false}},
     "show your rank on a board and your neighbours (default 2 above and below)", Rank},
    {"admin create-staff", "", {{"login", true}, {"password", false}, {"display_name", false},
                                {"request_id", false}},
     "create a staff account, as an admin; without --password, read from stdin", CreateStaff},
    {"admin test-account", "ACCOUNT_ID", {{"off", false}},
     "mark a citizen as a test account, kept off public boards (--off: undo), as an admin",
     AdminTestAccount},

    {"org create", "ID NAME", {{"request_id", false}},
     "create a partner organisation and its join code, as an admin", OrgCreate,
     "teams and organisations (citizens join with a code):"},
    {"org list", "", {}, "list the organisations and members (join codes: admins only)", OrgList},
    {"team create", "ID NAME", {{"org", false}, {"request_id", false}},
     "create a team, optionally in organisation --org, and its join code, as an admin",
     TeamCreate},
    {"team list", "", {{"org", false}}, "list the teams (join codes: admins only)", TeamList},
    {"join", "CODE", {{"request_id", false}},
     "join the team (and its organisation) or the organisation of a join code", Join},
    {"team leave", "", {{"request_id", false}}, "leave your team; you stay in its organisation",
     TeamLeave},
    {"org leave", "", {{"request_id", false}}, "leave your organisation and its team", OrgLeave},

    {"event create", "", {{"name", true}, {"ward", true}, {"starts", true}, {"ends", true}, {"types", true},
                          {"place", false}, {"team", false}, {"kind", false}, {"request_id", false}},
     "create a collection drive (default) or point, as an admin; --types: the\n"
     "      action types it collects, weighed in kg; --team: the organising team",
     EventCreate,
     "collection drives and points (staff log weigh-ins, citizens get the credit):"},
    {"event assign", "EVENT_ID LOGIN [LOGIN...]", {},
     "assign staff accounts to an event, as an admin", EventAssign},
    {"event list", "", {{"ward", false}, {"all", false}, {"page_size", false}, {"page_token", false}},
     "list the events that have not ended, soonest first; --all: past ones too", EventList},
    {"event show", "EVENT_ID", {}, "show an event: dates, status, accepted types, staff", EventShow},
    {"event open", "EVENT_ID", {}, "open a scheduled event (its staff, or an admin)", EventOpen},
    {"checkin-code", "", {},
     "show your check-in code, as a citizen; staff check you in with it", CitizenCheckInCode},
    {"event checkin", "EVENT_ID CODE", {},
     "check a participant in with the code from their app (the event's staff)", EventCheckIn},
    {"event weigh", "EVENT_ID ACTION_TYPE KG", {{"participant", false}, {"at", false}, {"entry_id", false}},
     "log one weighed bag (the event's staff); without --participant it is an\n"
     "      anonymous drop-off; a retry reuses --entry_id and is recorded once", EventWeigh},
    {"event import", "EVENT_ID FILE.csv", {{"batch", false}},
     "upload weigh-ins logged offline (the event's staff), from a CSV file with\n"
     "      the header entry_id,participant_id,action_type,weight_kg,occurred_at\n"
     "      (empty participant_id: anonymous; empty occurred_at: now). Rows are\n"
     "      checked here, then sent --batch at a time (default 200, at most 500);\n"
     "      running it again is safe: rows already recorded come back DUPLICATE",
     EventImport},
    {"event closing", "EVENT_ID TYPE=KG [TYPE=KG...]", {},
     "set the total weighed per action type at closing (its staff, or an admin)", EventClosing},
    {"event correct", "EVENT_ID ENTRY_ID", {{"void", false}, {"weight", false}, {"reason", true},
                                            {"request_id", false}},
     "void an entry (--void) or change its weight (--weight), with a reason for\n"
     "      the audit trail (its staff, or an admin)", EventCorrect},
    {"event close", "EVENT_ID", {}, "close an open event (its staff, or an admin)", EventClose},
    {"event audit", "EVENT_ID", {}, "list an event's corrections: when, who, what, why (admin)", EventAudit},
    {"event live", "EVENT_ID", {{"board", false}},
     "show an event's totals per action type, participants, anonymous share and\n"
     "      board (default 10 entries, at most 50)", EventLiveView},

    {"badges", "", {{"all", false}},
     "list your badges, when and by which entry you earned them; --all: every\n"
     "      badge there is and how to earn it", Badges,
     "badges, streaks and campaigns:"},
    {"streak", "", {}, "show your streak of active days and when it breaks", Streak},
    {"campaign create", "ID", {{"title", true}, {"starts", true}, {"ends", true}, {"types", false},
                               {"multiplier", false}, {"metric", false}, {"target", false},
                               {"my_target", false}, {"badge_title", false}, {"request_id", false}},
     "create a campaign or challenge, as an admin: actions of --types (default\n"
     "      all) that occur in [--starts, --ends) earn --multiplier x points;\n"
     "      --target: for everyone together, --my_target: for each person (earns\n"
     "      the badge), both in --metric units (grams CO2e or points)", CampaignCreate},
    {"campaign list", "", {{"state", false}}, "list campaigns, newest first", CampaignList},
    {"campaign progress", "ID", {},
     "show a campaign's collective progress and, as a citizen, your own", CampaignProgress},

    {"survey create", "FILE.json", {{"request_id", false}},
     "create a draft survey, as an admin, from a CreateSurveyRequest in proto3\n"
     "      JSON (title, campaignId or eventId, questions, waves; see\n"
     "      protos/ecoact/v1/surveys.proto); a retry reuses --request_id", SurveyCreate,
     "surveys:"},
    {"survey publish", "SURVEY_ID", {}, "publish a draft survey (admin); it never changes again",
     SurveyPublish},
    {"survey list", "", {{"event", false}, {"campaign", false}, {"all", false}},
     "list published surveys, newest first; --all (admin): drafts and replaced\n"
     "      versions too", SurveyList},
    {"survey show", "SURVEY_ID", {}, "show a survey's waves, questions and options", SurveyShow},
    {"survey answer", "SURVEY_ID QUESTION=ANSWER [QUESTION=ANSWER...]", {{"wave", true}, {"request_id", false}},
     "answer a survey wave, as a citizen: an option id (OPT,OPT for multiple\n"
     "      choice), a 1-5 scale, a number or text per question; answering again\n"
     "      before the wave closes replaces your answers", SurveyAnswer},
    {"survey results", "SURVEY_ID", {},
     "show a survey's results (admin): counts, means, response rates, and the\n"
     "      paired before/after change", SurveyResults},
    {"survey behaviour", "SURVEY_ID", {{"weeks", true}, {"reference", false}},
     "the respondents' actions and CO2 in the --weeks=N weeks before and after the\n"
     "      event's or campaign's start (or --reference=TIME), per group of\n"
     "      respondents, with the paired change (admin)", SurveyBehaviour},
    {"survey export", "SURVEY_ID", {{"out", true}, {"aggregates", false}, {"free_text", false},
                                     {"excel", false}},
     "save a survey's anonymised responses (pseudonymous respondent ids) as CSV to\n"
     "      --out=FILE.csv, or with --aggregates its results; --free_text includes\n"
     "      free-text answers, which may name people; --excel starts the file with a\n"
     "      UTF-8 byte order mark, so Excel shows Japanese text right (admin)", SurveyExport},
    {"report export", "", {{"out", true}, {"from", true}, {"to", true}, {"scope", false},
                           {"id", false}, {"excel", false}},
     "stream the impact CSV (admin) to --out=FILE.csv: one row per scope x month x\n"
     "      category in [--from, --to] (months, at most 120); every scope unless\n"
     "      --scope (and --id) names one; --excel starts the file with a UTF-8 byte\n"
     "      order mark, so Excel shows Japanese names right", ReportExport, "impact reports:"},
    {"report", "", {{"scope", false}, {"id", false}, {"from", false}, {"to", false}, {"top", false}},
     "show the CO2 saved (no sign-in needed) by category and month, with factor\n"
     "      sources and everyday equivalents; default: the city, the last 12 months;\n"
     "      the city's report also ranks wards and the --top (10) teams and orgs", Report},
    {"demo", "", {{"citizens", false}, {"seed", false}, {"days", false}, {"parallel", false}},
     "seed a deterministic demo pilot as the signed-in admin: --citizens=3000 in the\n"
     "      7 wards, teams, organisations, --days=6 of actions (within the server's\n"
     "      --max_backdate), two drives, a campaign and a survey; a second run with\n"
     "      the same --seed replays instead of doubling (needs ECOACT_RATE_LIMITS=0)",
     Demo, "demo:"},
  };
  // clang-format on
  return *commands;
}

// "  ecoact record ACTION_TYPE QUANTITY [--at=RFC3339] ..." wrapped at 80
// columns, then the summary.
std::string CommandUsage(const Command& command) {
  std::vector<std::string> words = {"  ecoact", command.name};
  if (*command.args != '\0') words.push_back(command.args);
  for (const OptionUse& use : command.options) {
    const OptionSpec& spec = *FindOption(use.name);
    std::string option =
        absl::StrCat("--", spec.name, spec.kind == Kind::kFlag ? "" : "=", spec.value);
    words.push_back(use.required ? option : absl::StrCat("[", option, "]"));
  }
  std::string out;
  size_t line_start = 0;
  for (const std::string& word : words) {
    if (out.size() - line_start + word.size() >= 80) {
      line_start = out.size() + 1;
      out += "\n         ";
    }
    absl::StrAppend(&out, out.empty() ? "" : " ", word);
  }
  return absl::StrCat(out, "\n      ", command.summary, "\n");
}

// The usage of every command whose name starts with `group` ("event").
std::string GroupUsage(absl::string_view group) {
  std::string text;
  for (const Command& command : Commands()) {
    if (absl::StartsWith(command.name, absl::StrCat(group, " "))) {
      absl::StrAppend(&text, CommandUsage(command));
    }
  }
  return text;
}

std::string Usage() {
  std::string text =
      "ecoact: command-line client of the ecoact climate-action service.\n\n"
      "usage: ecoact [global options] COMMAND [ARGUMENTS] [OPTIONS]\n";
  for (const Command& command : Commands()) {
    if (command.heading != nullptr) absl::StrAppend(&text, "\n", command.heading, "\n");
    absl::StrAppend(&text, CommandUsage(command));
  }
  return absl::StrCat(
      text,
      "\n"
      "  ecoact help [COMMAND]\n"
      "      show this text, or one command's; `ecoact help event`: the event commands\n"
      "\n"
      "global options (anywhere on the line; --name VALUE works too):\n"
      "  --server=HOST:PORT  server to call (default 127.0.0.1:7700, env ECOACT_SERVER)\n"
      "  --routes=SERVICE=HOST:PORT,...  services served elsewhere than --server (a split\n"
      "                      deployment), e.g. ecoact.v1.ActionsService=127.0.0.1:7702\n"
      "                      (env ECOACT_ROUTES)\n"
      "  --session=FILE      keeps account id, citizen secret and token, mode 0600\n"
      "                      (default $HOME/.config/ecoact/session.json,\n"
      "                      env ECOACT_SESSION; one file per account)\n"
      "  --timeout=DURATION  deadline of each call (default 5s, env ECOACT_TIMEOUT)\n"
      "  --json              print each response as proto3 JSON\n"
      "  --tls_ca_file=FILE  TLS: PEM CA certificates that signed the server's certificate\n"
      "                      (env ECOACT_TLS_CA_FILE); without it, plaintext\n"
      "  --tls_server_name=NAME  name the server's certificate must hold, if not the\n"
      "                      host of --server (env ECOACT_TLS_SERVER_NAME)\n"
      "  --tls_cert_file=FILE --tls_key_file=FILE  client certificate and key, for a\n"
      "                      server with mutual TLS (no env: ECOACT_TLS_CERT_FILE is the\n"
      "                      server's own)\n"
      "\n"
      "examples:\n"
      "  ecoact wards\n"
      "  ecoact register --nickname=Mika --ward=nakahara\n"
      "  ecoact catalog\n"
      "  ecoact record clothing_reuse 2.5\n"
      "  ecoact board --scope=ward --id=nakahara --period=week --metric=co2\n"
      "  ecoact --session=admin.json login --account=admin < .data/admin-password\n"
      "\n"
      "a collection drive (admin.json and staff.json: an admin's and a staff session):\n"
      "  ecoact --session=admin.json event create --name='Frontale home match'\n"
      "      --ward=nakahara --starts=2026-11-29T12:00:00+09:00\n"
      "      --ends=2026-11-29T18:00:00+09:00 --types=clothing_reuse,clothing_recycling\n"
      "  ecoact --session=admin.json event assign EVENT_ID hana.staff\n"
      "  ecoact --session=staff.json event open EVENT_ID\n"
      "  ecoact checkin-code                    (the citizen; the app shows a QR code)\n"
      "  ecoact --session=staff.json event checkin EVENT_ID CODE\n"
      "  ecoact --session=staff.json event weigh EVENT_ID clothing_reuse 2.4\n"
      "      --participant=PARTICIPANT_ID\n"
      "  ecoact --session=staff.json event import EVENT_ID tablet-export.csv\n"
      "  ecoact --session=staff.json event closing EVENT_ID clothing_reuse=31.5\n"
      "  ecoact --session=staff.json event close EVENT_ID\n"
      "  ecoact event live EVENT_ID\n"
      "  ecoact board --scope=event --id=EVENT_ID\n"
      "\n"
      "exit status: 0 success, 1 error (`error: CODE: message` on stderr), 2 usage\n");
}

}  // namespace

int UsageError(const Invocation& in, absl::string_view message) {
  std::fprintf(stderr, "ecoact: %s\n\nusage:\n%s\nRun `ecoact help` for every command.\n",
               std::string(message).c_str(), CommandUsage(*in.command).c_str());
  return kExitUsage;
}

namespace {

int GlobalUsageError(absl::string_view message) {
  std::fprintf(stderr, "ecoact: %s\n\n%s", std::string(message).c_str(), Usage().c_str());
  return kExitUsage;
}

size_t WordCount(absl::string_view text) {
  return std::vector<absl::string_view>(absl::StrSplit(text, ' ', absl::SkipEmpty())).size();
}

// The command named by the first words of the line, or null.
const Command* FindCommand(const std::vector<std::string>& words) {
  for (const Command& command : Commands()) {
    std::vector<std::string> name = absl::StrSplit(command.name, ' ');
    if (words.size() >= name.size() && std::equal(name.begin(), name.end(), words.begin())) {
      return &command;
    }
  }
  return nullptr;
}

// Checks options and arguments against the command: kExitOk, or kExitUsage
// with the error printed.
int CheckCommandLine(const Invocation& in) {
  const Command& command = *in.command;
  for (const auto& [name, value] : in.options) {
    if (std::count(std::begin(kGlobalOptions), std::end(kGlobalOptions), name) == 0 &&
        std::none_of(command.options.begin(), command.options.end(),
                     [&name = name](const OptionUse& use) { return name == use.name; })) {
      return UsageError(in, absl::StrCat("`", command.name, "` takes no option --", name));
    }
  }
  for (const OptionUse& use : command.options) {
    if (use.required && !in.Has(use.name))
      return UsageError(in, absl::StrCat("missing --", use.name));
  }
  std::vector<absl::string_view> args = absl::StrSplit(command.args, ' ', absl::SkipEmpty());
  size_t required =
      std::count_if(args.begin(), args.end(), [](absl::string_view arg) { return arg[0] != '['; });
  bool unbounded = !args.empty() && absl::EndsWith(args.back(), "...]");
  size_t given = in.ArgCount();
  if (given < required || (given > args.size() && !unbounded)) {
    return UsageError(in, absl::StrCat("`", command.name, "` takes ",
                                       *command.args ? command.args : "no arguments", ", got ",
                                       given, " argument", given == 1 ? "" : "s"));
  }
  return kExitOk;
}

std::string DefaultSessionPath() {
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') {
    const passwd* entry = getpwuid(getuid());
    home = entry != nullptr ? entry->pw_dir : ".";
  }
  return absl::StrCat(home, "/.config/ecoact/session.json");
}

int Main(int argc, char** argv) {
  Invocation in = ParseCommandLine(argc, argv);
  bool help = in.Flag("help");
  if (!in.words.empty() && in.words[0] == "help") {
    help = true;
    in.words.erase(in.words.begin());
  }
  in.command = in.words.empty() ? nullptr : FindCommand(in.words);
  if (!in.error.empty()) {
    return in.command != nullptr ? UsageError(in, in.error) : GlobalUsageError(in.error);
  }
  if (in.words.empty()) {
    if (!help) return GlobalUsageError("no command given");
    std::printf("%s", Usage().c_str());
    return kExitOk;
  }
  if (in.command == nullptr) {
    // "ecoact event" or "ecoact help event": the commands of that group.
    std::string group = GroupUsage(in.words[0]);
    if (!group.empty() && in.words.size() == 1 && help) {
      std::printf("usage:\n%s", group.c_str());
      return kExitOk;
    }
    if (!group.empty()) {
      std::string what = in.words.size() == 1
                             ? absl::StrCat("`", in.words[0], "` needs one of these commands")
                             : absl::StrCat("unknown command '", absl::StrJoin(in.words, " "), "'");
      std::fprintf(stderr, "ecoact: %s\n\nusage:\n%s", what.c_str(), group.c_str());
      return kExitUsage;
    }
    return GlobalUsageError(absl::StrCat("unknown command '", absl::StrJoin(in.words, " "), "'"));
  }
  in.name_words = WordCount(in.command->name);
  if (help) {
    std::printf("usage:\n%s", CommandUsage(*in.command).c_str());
    return kExitOk;
  }
  if (int checked = CheckCommandLine(in); checked != kExitOk) return checked;

  // Environment defaults for options not on the command line.
  for (const char* name :
       {"server", "routes", "session", "timeout", "tls_ca_file", "tls_server_name"}) {
    std::string variable = absl::StrCat("ECOACT_", absl::AsciiStrToUpper(name));
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr || *value == '\0' || in.Has(name)) continue;
    std::string normalized = value;
    if (!NormalizeValue(*FindOption(name), &normalized)) {
      return GlobalUsageError(absl::StrCat("bad value '", value, "' in ", variable));
    }
    in.options[name] = normalized;
  }
  GlobalOptions global;
  global.server = in.Str("server", "127.0.0.1:7700");
  global.session_path = in.Has("session") ? in.Str("session") : DefaultSessionPath();
  (void)absl::ParseDuration(in.Str("timeout", "5s"), &global.timeout);
  global.json = in.Flag("json");
  global.tls = {in.Str("tls_ca_file"), in.Str("tls_cert_file"), in.Str("tls_key_file"),
                in.Str("tls_server_name")};
  absl::StatusOr<Routes> routes =
      ParseRoutes("--routes (ECOACT_ROUTES)", in.Str("routes"), "--server (ECOACT_SERVER)",
                  global.server, CalledServices());
  if (!routes.ok()) {
    std::fprintf(stderr, "ecoact: %s\n", std::string(routes.status().message()).c_str());
    return kExitUsage;
  }
  absl::StatusOr<std::unique_ptr<RoutedChannels>> channels =
      RoutedChannels::Open(*std::move(routes), global.tls);
  if (!channels.ok()) {
    std::fprintf(stderr, "ecoact: %s\n", std::string(channels.status().message()).c_str());
    return kExitUsage;
  }
  Client client(std::move(global), *std::move(channels));
  return in.command->run(client, in);
}

}  // namespace
}  // namespace ecoact::cli

int main(int argc, char** argv) { return ecoact::cli::Main(argc, argv); }
