#include "services/catalog/equivalents.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "catalog_equivalents_data.h"
#include "ecoact/catalogfile/v1/catalog_file.pb.h"
#include "services/common/textproto.h"

namespace ecoact::catalog {
namespace {

bool ValidId(absl::string_view id) {
  if (id.size() < 2 || id.size() > 40 || !absl::ascii_islower(static_cast<unsigned char>(id[0]))) {
    return false;
  }
  for (char c : id) {
    auto u = static_cast<unsigned char>(c);
    if (!absl::ascii_islower(u) && !absl::ascii_isdigit(u) && c != '_') return false;
  }
  return true;
}

// "8.8" -> 8800 grams; at most 3 decimals, positive, below 10^12 g.
absl::StatusOr<int64_t> KgToGrams(absl::string_view text) {
  const size_t dot = text.find('.');
  absl::string_view whole = text.substr(0, dot);
  absl::string_view fraction =
      dot == absl::string_view::npos ? absl::string_view() : text.substr(dot + 1);
  bool ok = !whole.empty() && whole.size() <= 9 && fraction.size() <= 3 &&
            (dot == absl::string_view::npos || !fraction.empty());
  int64_t grams = 0;
  for (char c : whole) {
    ok = ok && absl::ascii_isdigit(static_cast<unsigned char>(c));
    grams = grams * 10 + (c - '0');
  }
  for (size_t i = 0; i < 3; ++i) {
    char c = i < fraction.size() ? fraction[i] : '0';
    ok = ok && absl::ascii_isdigit(static_cast<unsigned char>(c));
    grams = grams * 10 + (c - '0');
  }
  if (!ok || grams <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "kg_co2_per_unit must be a positive decimal with at most 3 decimals such as \"8.8\", "
        "got '", text, "'"));
  }
  return grams;
}

}  // namespace

absl::StatusOr<std::vector<v1::Equivalent>> ParseEquivalents(absl::string_view text) {
  catalogfile::v1::EquivalentsFile file;
  google::protobuf::TextFormat::Parser parser;
  auto parsed = ParseTextproto("equivalents", text, parser, &file);
  if (!parsed.ok()) return parsed;
  std::vector<v1::Equivalent> out;
  std::set<std::string> ids;
  for (int i = 0; i < file.equivalents_size(); ++i) {
    const catalogfile::v1::EquivalentDef& def = file.equivalents(i);
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("equivalents[", i, "] '", def.id(), "': ", why));
    };
    if (!ValidId(def.id())) return bad("id must match [a-z][a-z0-9_]{1,39}");
    if (!ids.insert(def.id()).second) return bad("duplicate id");
    if (def.label_ja().empty() || def.label_en().empty() || def.unit_ja().empty() ||
        def.unit_en().empty()) {
      return bad("label_ja, label_en, unit_ja and unit_en are required");
    }
    auto grams = KgToGrams(def.kg_co2_per_unit());
    if (!grams.ok()) return bad(grams.status().message());
    if (def.sources_size() == 0) return bad("at least one source is required");
    for (const v1::Source& source : def.sources()) {
      if (source.title().empty() || source.publisher().empty()) {
        return bad("every source needs a title and a publisher");
      }
    }
    if (def.confidence() == v1::CONFIDENCE_UNSPECIFIED) return bad("confidence is required");
    v1::Equivalent e;
    e.set_equivalent_id(def.id());
    e.set_label_ja(def.label_ja());
    e.set_label_en(def.label_en());
    e.set_unit_ja(def.unit_ja());
    e.set_unit_en(def.unit_en());
    e.set_co2e_grams_per_unit(*grams);
    *e.mutable_sources() = def.sources();
    e.set_confidence(def.confidence());
    e.set_note(def.note());
    out.push_back(std::move(e));
  }
  return out;
}

absl::string_view EmbeddedEquivalentsText() { return embedded::kEquivalentsTextproto; }

}  // namespace ecoact::catalog
