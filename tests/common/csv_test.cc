// The CSV cell helper every CSV export uses (reports, surveys).
#include "services/common/csv.h"

#include "gtest/gtest.h"

namespace ecoact {
namespace {

TEST(CsvCellTest, QuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(CsvCell("plain", true), "plain");
  EXPECT_EQ(CsvCell("中原区", true), "中原区");
  EXPECT_EQ(CsvCell("a,b", false), "\"a,b\"");
  EXPECT_EQ(CsvCell("say \"hi\"", false), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvCell("two\nlines", false), "\"two\nlines\"");
  EXPECT_EQ(CsvCell("", true), "");
}

TEST(CsvCellTest, GuardsWhatASpreadsheetWouldEvaluate) {
  EXPECT_EQ(CsvCell("=1+1", true), "'=1+1");
  EXPECT_EQ(CsvCell("+1", true), "'+1");
  EXPECT_EQ(CsvCell("-5", true), "'-5");
  EXPECT_EQ(CsvCell("@SUM(A1)", true), "'@SUM(A1)");
  EXPECT_EQ(CsvCell("\t=1+1", true), "'\t=1+1");
  EXPECT_EQ(CsvCell("\r=1+1", true), "\"'\r=1+1\"");
  EXPECT_EQ(CsvCell("=HYPERLINK(\"x\")", true), "\"'=HYPERLINK(\"\"x\"\")\"");
  EXPECT_EQ(CsvCell("a=1", true), "a=1");
  EXPECT_EQ(CsvCell("=1+1", false), "=1+1");
}

}  // namespace
}  // namespace ecoact
