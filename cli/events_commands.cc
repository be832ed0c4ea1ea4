// The collection-drive commands of `ecoact` (EventsService, see
// protos/ecoact/v1/events.proto): `ecoact event ...` and `ecoact checkin-code`.
//
// A drive as the commands see it: an admin creates the event and assigns
// staff; staff open it, check citizens in with the code their app shows, log
// weighed bags live (`event weigh`) or upload what a tablet logged offline
// (`event import`, a CSV file), enter the totals weighed at closing, correct
// mistakes with a reason, and close it. Every weigh-in carries a client entry
// id, so sending it again is recorded once.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli/cli.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace ecoact::cli {
namespace {

// --------------------------------------------------------------- formatting

// "2.4 kg" for 2400 grams.
std::string Kg(int64_t grams) { return absl::StrCat(FormatMilli(grams), " kg"); }

// The enum value's name without its prefix, lower case: "EVENT_STATUS_OPEN" -> "open".
std::string EnumLabel(absl::string_view name, absl::string_view prefix) {
  absl::ConsumePrefix(&name, prefix);
  std::string label = absl::AsciiStrToLower(name);
  std::replace(label.begin(), label.end(), '_', ' ');
  return label;
}

std::string StatusLabel(v1::EventStatus status) {
  return EnumLabel(v1::EventStatus_Name(status), "EVENT_STATUS_");
}
std::string KindLabel(v1::EventKind kind) {
  return EnumLabel(v1::EventKind_Name(kind), "EVENT_KIND_");
}
// "ACCEPTED", "DUPLICATE", "REJECTED": as the server names them.
std::string OutcomeName(v1::EntryStatus status) {
  return std::string(absl::StripPrefix(v1::EntryStatus_Name(status), "ENTRY_STATUS_"));
}

std::string OrDash(const std::string& text) { return text.empty() ? "-" : text; }

void PrintEvent(const v1::Event& e) {
  PrintTable({{"event", e.event_id()},
              {"name", e.name()},
              {"kind", KindLabel(e.kind())},
              {"status", StatusLabel(e.status())},
              {"ward", OrDash(e.ward())},
              {"place", OrDash(e.place())},
              {"organiser", OrDash(e.organiser_team())},
              {"starts", ShowTime(e.starts_at())},
              {"ends", ShowTime(e.ends_at())},
              {"collects", absl::StrJoin(e.accepted_action_types(), ", ")},
              {"staff", e.staff().empty() ? "none yet" : absl::StrJoin(e.staff(), ", ")}});
}

// "12000 g (12 kg), 5000 g per kg" for an entry's CO2e.
std::string Co2PerKg(int64_t co2e_grams, int64_t weight_grams) {
  std::string out = FormatCo2(co2e_grams);
  if (weight_grams != 0) {
    absl::StrAppend(&out, ", ", std::llround(co2e_grams * 1000.0 / weight_grams), " g per kg");
  }
  return out;
}

// The live view: the event, its totals per action type, and its board.
void PrintLive(const v1::EventLive& live) {
  const v1::Event& e = live.event();
  std::printf("%s (%s): %s %s in %s, %s to %s\n\n", e.name().c_str(), e.event_id().c_str(),
              KindLabel(e.kind()).c_str(), StatusLabel(e.status()).c_str(),
              OrDash(e.ward()).c_str(), ShowTime(e.starts_at()).c_str(),
              ShowTime(e.ends_at()).c_str());
  Rows rows = {{"ACTION TYPE", "ATTRIBUTED", "ANONYMOUS", "CLOSING TOTAL", "UNLOGGED",
                "CO2E AVOIDED", "ENTRIES"}};
  v1::ActionTypeTotal sum;
  for (const v1::ActionTypeTotal& t : live.by_action_type()) {
    rows.push_back({t.action_type(), Kg(t.attributed_grams()), Kg(t.anonymous_grams()),
                    t.has_closing_total() ? Kg(t.closing_total_grams()) : "-",
                    Kg(t.unlogged_grams()), FormatCo2(t.co2e_grams()), absl::StrCat(t.entries())});
    sum.set_attributed_grams(sum.attributed_grams() + t.attributed_grams());
    sum.set_anonymous_grams(sum.anonymous_grams() + t.anonymous_grams());
    sum.set_closing_total_grams(sum.closing_total_grams() + t.closing_total_grams());
    if (t.has_closing_total()) sum.set_has_closing_total(true);
    sum.set_unlogged_grams(sum.unlogged_grams() + t.unlogged_grams());
    sum.set_entries(sum.entries() + t.entries());
  }
  if (live.by_action_type().empty()) {
    rows.push_back({"(nothing logged yet)"});
  } else {
    rows.push_back({"total", Kg(sum.attributed_grams()), Kg(sum.anonymous_grams()),
                    sum.has_closing_total() ? Kg(sum.closing_total_grams()) : "-",
                    Kg(sum.unlogged_grams()), FormatCo2(live.co2e_grams()),
                    absl::StrCat(sum.entries())});
  }
  PrintTable(rows);
  std::printf("\n");
  PrintTable({{"participants", absl::StrCat(live.participants(), " checked in")},
              {"CO2e avoided", FormatCo2(live.co2e_grams())},
              {"anonymous share",
               absl::StrFormat("%d.%d %% of the weight (anonymous drop-offs and unlogged weight)",
                               live.anonymous_share_permille() / 10,
                               live.anonymous_share_permille() % 10)}});
  if (live.board().empty()) {
    std::printf("\nevent board: nobody credited yet\n");
    return;
  }
  std::printf("\nevent board, by points (`ecoact board --scope=event --id=%s` for more):\n",
              e.event_id().c_str());
  PrintTable(BoardRows(v1::METRIC_POINTS, {&live.board()}));
}

// A weigh-in's outcome, as `event weigh` prints it.
void PrintWeighOutcome(const v1::WeighIn& request, const v1::EntryOutcome& r) {
  std::string outcome = OutcomeName(r.status());
  if (r.status() == v1::ENTRY_STATUS_DUPLICATE) {
    absl::StrAppend(&outcome, ": logged before, at ", ShowTime(r.received_at()),
                    "; nothing changed");
  }
  PrintTable({{"entry", r.client_entry_id()},
              {"outcome", outcome},
              {"participant", request.participant_id().empty()
                                  ? "none: anonymous drop-off, nobody credited"
                                  : request.participant_id()},
              {"weight", absl::StrCat(Kg(r.weight_grams()), " of ", request.action_type())},
              {"CO2e avoided", Co2PerKg(r.co2e_grams(), r.weight_grams())},
              {"points", absl::StrCat(r.points())},
              {"factor", r.factor_version()}});
}

// Text from a file on one line: control characters as C escapes.
std::string OneLine(const std::string& text) {
  bool plain =
      std::none_of(text.begin(), text.end(), [](unsigned char c) { return c < 0x20 || c == 0x7F; });
  return plain ? text : absl::CEscape(text);
}

// ------------------------------------------------------------------ parsing

// The server's rule for a client entry id, checked here so that a file's
// mistakes are all found before anything is sent.
constexpr const char kEntryIdRule[] = "entry_id must be 8 to 64 characters of A-Z a-z 0-9 _ -";
bool ValidEntryId(absl::string_view id) {
  return id.size() >= 8 && id.size() <= 64 &&
         std::all_of(id.begin(), id.end(), [](unsigned char c) {
           return absl::ascii_isalnum(c) || c == '_' || c == '-';
         });
}

// A kg figure from an argument: finite and not negative.
std::optional<double> ParseKg(absl::string_view text) {
  double kg;
  if (!absl::SimpleAtod(text, &kg) || !std::isfinite(kg) || kg < 0) return std::nullopt;
  return kg;
}

// The CSV header `event import` expects, in any column order.
constexpr const char* kImportColumns[] = {"entry_id", "participant_id", "action_type", "weight_kg",
                                          "occurred_at"};
enum ImportColumn { kEntryId, kParticipantId, kActionType, kWeightKg, kOccurredAt };

struct CsvRecord {
  std::vector<std::string> fields;
  std::string error;  // a malformed record: an unclosed quote, text after a closing quote
};

// Splits RFC 4180 CSV text into records. Fields are separated by commas,
// records by CRLF, LF or CR; a field in double quotes may hold commas and line
// breaks, with "" for a quote. A UTF-8 byte order mark at the start (which
// spreadsheets write) is skipped. Fields are not trimmed.
std::vector<CsvRecord> ParseCsv(absl::string_view text) {
  absl::ConsumePrefix(&text, "\xEF\xBB\xBF");
  std::vector<CsvRecord> records;
  size_t i = 0;
  const size_t n = text.size();
  auto at_line_end = [&] { return i >= n || text[i] == '\r' || text[i] == '\n'; };
  while (i < n) {
    CsvRecord& record = records.emplace_back();
    for (;;) {  // one field
      std::string& field = record.fields.emplace_back();
      if (text[i] == '"') {
        bool closed = false;
        for (++i; i < n; ++i) {
          if (text[i] != '"') {
            field.push_back(text[i]);
          } else if (i + 1 < n && text[i + 1] == '"') {
            field.push_back('"');
            ++i;
          } else {
            closed = true;
            ++i;
            break;
          }
        }
        if (!closed) {
          record.error = "a quoted field is never closed (a missing \")";
        } else if (!at_line_end() && text[i] != ',') {
          record.error = "text after a closing quote (write a quote inside quotes as \"\")";
          while (!at_line_end()) ++i;
        }
      } else {
        while (!at_line_end() && text[i] != ',') field.push_back(text[i++]);
      }
      if (i < n && text[i] == ',') {
        ++i;
        if (i < n) continue;
        record.fields.emplace_back();  // "a,b," ends with an empty field
      }
      break;
    }
    if (i < n && text[i] == '\r') ++i;
    if (i < n && text[i] == '\n') ++i;
  }
  return records;
}

bool IsBlank(const CsvRecord& record) {
  return record.error.empty() &&
         std::all_of(record.fields.begin(), record.fields.end(), [](const std::string& field) {
           return absl::StripAsciiWhitespace(field).empty();
         });
}

// One data row of an import file, checked here before anything is sent.
struct ImportRow {
  int number = 0;  // the row in the spreadsheet: the header is row 1
  std::string entry_id;
  std::vector<std::string> problems;  // empty: sent to the server
  v1::WeighIn weigh_in;
  std::optional<v1::EntryOutcome> outcome;  // the server's answer, once sent
};

// Maps header names to columns; an error message if the header is not the
// five expected names (in any order).
std::string ReadHeader(const CsvRecord& header, std::vector<int>* column_of) {
  std::string expected = absl::StrJoin(kImportColumns, ",");
  if (!header.error.empty()) return absl::StrCat("the header row is malformed: ", header.error);
  column_of->assign(std::size(kImportColumns), -1);
  std::vector<std::string> unknown;
  for (size_t c = 0; c < header.fields.size(); ++c) {
    std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(header.fields[c]));
    auto it = std::find(std::begin(kImportColumns), std::end(kImportColumns), name);
    if (it == std::end(kImportColumns)) {
      unknown.push_back(absl::StrCat("'", name, "'"));
    } else if ((*column_of)[it - std::begin(kImportColumns)] >= 0) {
      return absl::StrCat("the header names column ", name, " twice; expected ", expected);
    } else {
      (*column_of)[it - std::begin(kImportColumns)] = static_cast<int>(c);
    }
  }
  std::vector<std::string> missing;
  for (size_t k = 0; k < column_of->size(); ++k) {
    if ((*column_of)[k] < 0) missing.push_back(kImportColumns[k]);
  }
  if (unknown.empty() && missing.empty()) return "";
  return absl::StrCat("the first row must be the header ", expected, " (in any order)",
                      unknown.empty() ? "" : "; unknown: ", absl::StrJoin(unknown, ", "),
                      missing.empty() ? "" : "; missing: ", absl::StrJoin(missing, ", "));
}

// Checks one data row; its problems, if any, say what to fix.
ImportRow CheckRow(int number, const CsvRecord& record, const std::vector<int>& column_of,
                   size_t header_size, std::map<std::string, int>* first_row_of_id) {
  ImportRow row;
  row.number = number;
  auto field = [&](ImportColumn column) {
    size_t c = column_of[column];
    return c < record.fields.size() ? std::string(absl::StripAsciiWhitespace(record.fields[c]))
                                    : std::string();
  };
  row.entry_id = field(kEntryId);
  if (!record.error.empty()) {
    row.problems.push_back(record.error);
    return row;
  }
  if (record.fields.size() != header_size) {
    row.problems.push_back(
        absl::StrCat("has ", record.fields.size(), " fields, the header ", header_size));
    return row;
  }
  if (row.entry_id.empty()) {
    row.problems.push_back("entry_id is empty");
  } else if (!ValidEntryId(row.entry_id)) {
    row.problems.push_back(kEntryIdRule);
  } else if (auto [it, first] = first_row_of_id->emplace(row.entry_id, number); !first) {
    row.problems.push_back(absl::StrCat("entry_id is also on row ", it->second));
  }
  row.weigh_in.set_client_entry_id(row.entry_id);
  row.weigh_in.set_participant_id(field(kParticipantId));
  row.weigh_in.set_action_type(field(kActionType));
  if (row.weigh_in.action_type().empty()) row.problems.push_back("action_type is empty");
  std::string weight = field(kWeightKg);
  double kg = 0;
  if (!absl::SimpleAtod(weight, &kg) || !std::isfinite(kg)) {
    row.problems.push_back(absl::StrCat("weight_kg '", weight, "' is not a number"));
  } else if (kg <= 0) {
    row.problems.push_back(absl::StrCat("weight_kg must be above 0, got ", weight));
  }
  row.weigh_in.set_weight_kg(kg);
  std::string occurred = field(kOccurredAt), error;
  absl::Time at;
  if (occurred.empty()) {
    // Unset: the server uses the time it receives the entry.
  } else if (absl::ParseTime(absl::RFC3339_full, occurred, &at, &error)) {
    *row.weigh_in.mutable_occurred_at() = ToTimestamp(at);
  } else {
    row.problems.push_back(absl::StrCat("occurred_at '", occurred,
                                        "' is not an RFC 3339 time such as "
                                        "2026-11-29T14:05:00+09:00"));
  }
  return row;
}

// "row 7 entry t1-0006: REJECTED FAILED_PRECONDITION message".
std::string RowLine(const ImportRow& row) {
  std::string line =
      absl::StrCat("row ", row.number, " entry ", OrDash(OneLine(row.entry_id)), ": ");
  if (!row.problems.empty())
    return absl::StrCat(line, "INVALID ", absl::StrJoin(row.problems, "; "));
  if (!row.outcome)
    return absl::StrCat(line, "NOT SENT (its upload call failed, see the error above)");
  const v1::EntryOutcome& o = *row.outcome;
  absl::StrAppend(&line, OutcomeName(o.status()));
  if (o.status() == v1::ENTRY_STATUS_REJECTED) {
    absl::StrAppend(&line, " ", o.code(), " ", o.message());
  } else {
    absl::StrAppend(&line, " ", Kg(o.weight_grams()), " ", row.weigh_in.action_type(), ", ",
                    o.co2e_grams(), " g CO2e, ", o.points(), " points");
    // Kept at the event, but the participant's credit failed.
    if (!o.code().empty()) {
      absl::StrAppend(&line, "; CREDIT PENDING ", o.code(), " ", o.message());
    }
  }
  return line;
}

nlohmann::json RowJson(const ImportRow& row) {
  nlohmann::json json = {{"row", row.number}, {"entry_id", row.entry_id}};
  if (!row.problems.empty()) {
    json["status"] = "INVALID";
    json["problems"] = row.problems;
  } else if (!row.outcome) {
    json["status"] = "NOT_SENT";
  } else {
    json["status"] = OutcomeName(row.outcome->status());
    google::protobuf::util::JsonPrintOptions options;
    options.always_print_primitive_fields = true;
    std::string text;
    (void)google::protobuf::util::MessageToJsonString(*row.outcome, &text, options);
    json["outcome"] = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  }
  return json;
}

// The RPC of `event open` and `event close`.
int Transition(Client& client, const Invocation& in, bool open) {
  v1::EventTransitionRequest request;
  request.set_event_id(in.Arg(0));
  return Exchange<v1::Event>(
      client, Auth::kToken,
      [&](auto* c, auto* out) {
        return open ? client.events().OpenEvent(c, request, out)
                    : client.events().CloseEvent(c, request, out);
      },
      [&](const v1::Event& e) {
        std::printf("Event %s (%s) is %s.\n", e.event_id().c_str(), e.name().c_str(),
                    StatusLabel(e.status()).c_str());
        if (open) {
          std::printf("Check participants in with `ecoact event checkin %s CODE`.\n",
                      e.event_id().c_str());
        } else {
          std::printf(
              "Entries logged offline during the event can still be uploaded with\n"
              "`ecoact event import %s FILE.csv`.\n",
              e.event_id().c_str());
        }
      });
}

}  // namespace

// ----------------------------------------------------------------- commands

int EventCreate(Client& client, const Invocation& in) {
  v1::CreateEventRequest request;
  request.set_request_id(in.Str("request_id", NewRequestId()));
  request.set_kind(static_cast<v1::EventKind>(in.Choice("kind", "drive")));
  request.set_name(in.Str("name"));
  request.set_place(in.Str("place"));
  request.set_ward(in.Str("ward"));
  request.set_organiser_team(in.Str("team"));
  absl::Time starts = *in.Time("starts"), ends = *in.Time("ends");
  if (ends <= starts) return UsageError(in, "--ends must be after --starts");
  *request.mutable_starts_at() = ToTimestamp(starts);
  *request.mutable_ends_at() = ToTimestamp(ends);
  for (absl::string_view type : absl::StrSplit(in.Str("types"), ',', absl::SkipWhitespace())) {
    request.add_accepted_action_types(std::string(absl::StripAsciiWhitespace(type)));
  }
  if (request.accepted_action_types().empty()) {
    return UsageError(in,
                      "--types must name at least one action type weighed in kg, such as "
                      "--types=clothing_reuse,clothing_recycling");
  }
  return Exchange<v1::Event>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.events().CreateEvent(c, request, out); },
      [](const v1::Event& e) {
        PrintEvent(e);
        std::printf("\nNext: assign its staff with `ecoact event assign %s LOGIN`.\n",
                    e.event_id().c_str());
      },
      RetryOption("request_id", request.request_id()));
}

int EventAssign(Client& client, const Invocation& in) {
  v1::AssignStaffRequest request;
  request.set_event_id(in.Arg(0));
  for (size_t i = 1; i < in.ArgCount(); ++i) request.add_staff_logins(in.Arg(i));
  return Exchange<v1::Event>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.events().AssignStaff(c, request, out); }, PrintEvent);
}

int EventList(Client& client, const Invocation& in) {
  v1::ListEventsRequest request;
  request.set_ward(in.Str("ward"));
  request.set_include_past(in.Flag("all"));
  request.set_page_size(in.Int("page_size", 0));
  request.set_page_token(in.Str("page_token"));
  return Exchange<v1::ListEventsResponse>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.events().ListEvents(c, request, out); },
      [&](const v1::ListEventsResponse& r) {
        if (r.events().empty()) {
          std::printf("No events%s%s.\n", request.ward().empty() ? "" : " in this ward",
                      request.include_past() ? "" : " that have not ended (--all: past ones too)");
          return;
        }
        Rows rows = {{"EVENT", "STATUS", "KIND", "NAME", "WARD", "STARTS", "ENDS"}};
        for (const v1::Event& e : r.events()) {
          rows.push_back({e.event_id(), StatusLabel(e.status()), KindLabel(e.kind()), e.name(),
                          e.ward(), ShowTime(e.starts_at()), ShowTime(e.ends_at())});
        }
        PrintTable(rows);
        if (!r.next_page_token().empty())
          std::printf("\nmore: --page_token=%s\n", r.next_page_token().c_str());
      });
}

int EventShow(Client& client, const Invocation& in) {
  v1::GetEventRequest request;
  request.set_event_id(in.Arg(0));
  return Exchange<v1::Event>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.events().GetEvent(c, request, out); }, PrintEvent);
}

int EventOpen(Client& client, const Invocation& in) { return Transition(client, in, true); }
int EventClose(Client& client, const Invocation& in) { return Transition(client, in, false); }

int CitizenCheckInCode(Client& client, const Invocation&) {
  return Exchange<v1::CheckInCode>(
      client, Auth::kToken,
      [&](auto* c, auto* out) {
        return client.events().GetCheckInCode(c, v1::GetCheckInCodeRequest(), out);
      },
      [](const v1::CheckInCode& r) {
        absl::Duration left =
            absl::Trunc(FromTimestamp(r.expires_at()) - absl::Now(), absl::Seconds(1));
        PrintTable({{"check-in code", r.code()},
                    {"expires", absl::StrCat(ShowTime(r.expires_at()), " (in ",
                                             absl::FormatDuration(left), ")")}});
        std::printf(
            "\nThe app shows this code as a QR code for the staff to scan. Without a\n"
            "scanner, staff type it in: ecoact event checkin EVENT_ID CODE\n");
      });
}

int EventCheckIn(Client& client, const Invocation& in) {
  v1::CheckInRequest request;
  request.set_event_id(in.Arg(0));
  request.set_code(in.Arg(1));
  return Exchange<v1::CheckInResponse>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.events().CheckIn(c, request, out); },
      [&](const v1::CheckInResponse& r) {
        PrintTable({{"participant", r.participant_id()},
                    {"nickname", r.nickname()},
                    {"checked in", ShowTime(r.checked_in_at())}});
        std::printf(
            "\nWeigh their bags with: ecoact event weigh %s ACTION_TYPE KG --participant=%s\n",
            request.event_id().c_str(), r.participant_id().c_str());
      });
}

int EventWeigh(Client& client, const Invocation& in) {
  v1::WeighIn request;
  request.set_event_id(in.Arg(0));
  request.set_action_type(in.Arg(1));
  double kg;
  if (!absl::SimpleAtod(in.Arg(2), &kg) || !std::isfinite(kg)) {
    return UsageError(in, "KG must be a number, such as 2.4");
  }
  request.set_weight_kg(kg);
  request.set_participant_id(in.Str("participant"));
  if (std::optional<absl::Time> at = in.Time("at"))
    *request.mutable_occurred_at() = ToTimestamp(*at);
  request.set_client_entry_id(in.Str("entry_id", NewRequestId()));
  if (!ValidEntryId(request.client_entry_id())) {
    return UsageError(in, absl::StrCat("--", kEntryIdRule));
  }
  return Exchange<v1::EntryOutcome>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.events().RecordWeighIn(c, request, out); },
      [&](const v1::EntryOutcome& r) { PrintWeighOutcome(request, r); },
      RetryOption("entry_id", request.client_entry_id()));
}

int EventImport(Client& client, const Invocation& in) {
  const std::string& event_id = in.Arg(0);
  const std::string& path = in.Arg(1);
  const int batch = in.Int("batch", 200);
  if (batch < 1 || batch > 500) return UsageError(in, "--batch must be 1 to 500");

  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  if (!file) {
    Client::Fail(absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
    return kExitError;
  }
  std::vector<CsvRecord> records = ParseCsv(text.str());
  if (records.empty()) {
    Client::Fail(absl::StrCat(path, " is empty; its first row must be the header ",
                              absl::StrJoin(kImportColumns, ",")));
    return kExitError;
  }
  std::vector<int> column_of;
  if (std::string error = ReadHeader(records[0], &column_of); !error.empty()) {
    Client::Fail(absl::StrCat(path, ": ", error));
    return kExitError;
  }

  // Check every row, then send the good ones in order, `batch` at a time.
  std::vector<ImportRow> rows;
  std::map<std::string, int> first_row_of_id;
  for (size_t r = 1; r < records.size(); ++r) {
    if (IsBlank(records[r])) continue;
    rows.push_back(CheckRow(static_cast<int>(r) + 1, records[r], column_of,
                            records[0].fields.size(), &first_row_of_id));
    rows.back().weigh_in.set_event_id(event_id);
  }
  std::vector<ImportRow*> to_send;
  for (ImportRow& row : rows) {
    if (row.problems.empty()) to_send.push_back(&row);
  }
  bool call_failed = false;
  for (size_t start = 0; start < to_send.size() && !call_failed; start += batch) {
    const size_t end = std::min(to_send.size(), start + batch);
    v1::UploadBatchRequest request;
    request.set_event_id(event_id);
    for (size_t i = start; i < end; ++i) *request.add_entries() = to_send[i]->weigh_in;
    v1::UploadBatchResponse response;
    if (!client.Call(Auth::kToken, [&](grpc::ClientContext* c) {
          return client.events().UploadBatch(c, request, &response);
        })) {
      call_failed = true;
    } else if (response.outcomes_size() != request.entries_size()) {
      Client::Fail(absl::StrCat("the server answered ", response.outcomes_size(), " outcomes for ",
                                request.entries_size(), " entries"));
      call_failed = true;
    } else {
      for (size_t i = start; i < end; ++i) to_send[i]->outcome = response.outcomes(i - start);
    }
  }

  int accepted = 0, duplicates = 0, rejected = 0, invalid = 0, not_sent = 0, pending = 0;
  for (const ImportRow& row : rows) {
    if (row.outcome && row.outcome->status() != v1::ENTRY_STATUS_REJECTED &&
        !row.outcome->code().empty()) {
      ++pending;
    }
    if (!row.problems.empty()) {
      ++invalid;
    } else if (!row.outcome) {
      ++not_sent;
    } else if (row.outcome->status() == v1::ENTRY_STATUS_ACCEPTED) {
      ++accepted;
    } else if (row.outcome->status() == v1::ENTRY_STATUS_DUPLICATE) {
      ++duplicates;
    } else {
      ++rejected;
    }
  }
  if (client.options().json) {
    nlohmann::json json = {{"event_id", event_id},
                           {"file", path},
                           {"rows", nlohmann::json::array()},
                           {"accepted", accepted},
                           {"duplicates", duplicates},
                           {"rejected", rejected},
                           {"invalid", invalid},
                           {"not_sent", not_sent}};
    for (const ImportRow& row : rows) json["rows"].push_back(RowJson(row));
    std::printf("%s\n", json.dump(2).c_str());
  } else {
    for (const ImportRow& row : rows) std::printf("%s\n", RowLine(row).c_str());
    std::printf("%saccepted %d, duplicates %d, rejected %d, invalid rows %d%s\n",
                rows.empty() ? "" : "\n", accepted, duplicates, rejected, invalid,
                absl::StrCat(not_sent == 0 ? "" : absl::StrCat(", not sent ", not_sent),
                             pending == 0 ? "" : absl::StrCat(", credit pending ", pending))
                    .c_str());
  }
  std::fflush(stdout);  // the hints come after the rows, also when both go to one file
  if (call_failed) {
    std::fprintf(stderr,
                 "hint: run the same command again once the problem is solved: rows already "
                 "recorded come back DUPLICATE, the rest are recorded once\n");
  } else if (pending > 0) {
    std::fprintf(stderr,
                 "hint: some participants' credits failed; run the same file again to finish "
                 "them (their rows come back DUPLICATE and are credited then)\n");
  }
  if (!call_failed && rejected + invalid > 0) {
    std::fprintf(stderr,
                 "hint: fix the rows marked INVALID or REJECTED and run the same file again; "
                 "rows already recorded come back DUPLICATE\n");
  }
  return rejected + invalid + not_sent + pending == 0 ? kExitOk : kExitError;
}

int EventClosing(Client& client, const Invocation& in) {
  v1::SetClosingTotalsRequest request;
  request.set_event_id(in.Arg(0));
  for (size_t i = 1; i < in.ArgCount(); ++i) {
    std::pair<std::string, std::string> total = absl::StrSplit(in.Arg(i), absl::MaxSplits('=', 1));
    std::optional<double> kg = ParseKg(total.second);
    if (total.first.empty() || !kg) {
      return UsageError(
          in, absl::StrCat("'", in.Arg(i), "' is not TYPE=KG, such as clothing_reuse=31.5"));
    }
    for (const v1::ClosingTotal& earlier : request.totals()) {
      if (earlier.action_type() == total.first)
        return UsageError(in, absl::StrCat(total.first, " is given twice"));
    }
    v1::ClosingTotal* closing = request.add_totals();
    closing->set_action_type(total.first);
    closing->set_weight_kg(*kg);
  }
  return Exchange<v1::EventLive>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.events().SetClosingTotals(c, request, out); },
      [](const v1::EventLive& live) {
        std::printf("Closing totals saved.\n\n");
        PrintLive(live);
      });
}

int EventCorrect(Client& client, const Invocation& in) {
  if (in.Flag("void") == in.Has("weight")) {
    return UsageError(in, "give either --void, or --weight=KG with the entry's right weight");
  }
  v1::CorrectEntryRequest request;
  request.set_request_id(in.Str("request_id", NewRequestId()));
  request.set_event_id(in.Arg(0));
  request.set_client_entry_id(in.Arg(1));
  request.set_kind(in.Flag("void") ? v1::CORRECTION_KIND_VOID : v1::CORRECTION_KIND_ADJUST);
  request.set_new_weight_kg(in.Number("weight", 0));
  request.set_reason(in.Str("reason"));
  return Exchange<v1::EntryOutcome>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.events().CorrectEntry(c, request, out); },
      [&](const v1::EntryOutcome& r) {
        std::string change =
            request.kind() == v1::CORRECTION_KIND_VOID
                ? "voided"
                : absl::StrCat("weight set to ",
                               FormatMilli(std::llround(request.new_weight_kg() * 1000)), " kg");
        PrintTable({{"entry", request.client_entry_id()},
                    {"correction", change},
                    {"outcome", r.status() == v1::ENTRY_STATUS_DUPLICATE
                                    ? "made before with this --request_id; nothing changed"
                                    : "recorded as a compensating entry"},
                    {"difference", absl::StrCat(Kg(r.weight_grams()), ", ", r.co2e_grams(),
                                                " g CO2e, ", r.points(), " points")},
                    {"request id", request.request_id()}});
      },
      RetryOption("request_id", request.request_id()));
}

int EventAudit(Client& client, const Invocation& in) {
  v1::GetAuditTrailRequest request;
  request.set_event_id(in.Arg(0));
  return Exchange<v1::GetAuditTrailResponse>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.events().GetAuditTrail(c, request, out); },
      [&](const v1::GetAuditTrailResponse& r) {
        if (r.records().empty()) {
          std::printf("No corrections at event %s.\n", request.event_id().c_str());
          return;
        }
        Rows rows = {{"WHEN", "WHO", "ENTRY", "KIND", "WEIGHT", "REASON"}};
        for (const v1::AuditRecord& a : r.records()) {
          rows.push_back({ShowTime(a.corrected_at()), a.corrected_by(), a.client_entry_id(),
                          EnumLabel(v1::CorrectionKind_Name(a.kind()), "CORRECTION_KIND_"),
                          absl::StrCat(Kg(a.old_weight_grams()), " -> ", Kg(a.new_weight_grams())),
                          a.reason()});
        }
        PrintTable(rows);
      });
}

int EventLiveView(Client& client, const Invocation& in) {
  v1::GetEventLiveRequest request;
  request.set_event_id(in.Arg(0));
  request.set_board_size(in.Int("board", 10));
  if (request.board_size() < 0 || request.board_size() > 50) {
    return UsageError(in, "--board must be 0 to 50");
  }
  return Exchange<v1::EventLive>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.events().GetEventLive(c, request, out); }, PrintLive);
}

}  // namespace ecoact::cli
