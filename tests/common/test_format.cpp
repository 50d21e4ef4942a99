// Tests of the message helpers of host/common/format.h: how a message quotes bytes that came from a file
// (escaped, whole, cut to an excerpt) and how a JSON library error becomes a message's problem.
#include <gtest/gtest.h>

#include <string>

#include "format.h"

namespace cudamlp {
namespace {

using namespace std::string_literals;

TEST(EscapeBytes, KeepsPrintableAsciiAndValidUtf8AsTheyAre) {
  EXPECT_EQ(escape_bytes("label,pixel0 \\ 'x'"), "label,pixel0 \\ 'x'");
  EXPECT_EQ(escape_bytes("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80");
}

TEST(EscapeBytes, EscapesNulControlBytesAndDelAndGoesOnAfterThem) {
  EXPECT_EQ(escape_bytes("a\0b\nc\td\x1b[2J\x7f"s), "a\\x00b\\x0ac\\x09d\\x1b[2J\\x7f");
}

TEST(EscapeBytes, EscapesC1ControlsLikeTheEscapeCharacter) {
  EXPECT_EQ(escape_bytes("\xc2\x9b" "31m \xc2\x85 \xc2\xa0"), "\\xc2\\x9b31m \\xc2\\x85 \xc2\xa0");  // CSI, NEL; NBSP stays
}

TEST(EscapeBytes, EscapesEveryByteThatIsNotPartOfValidUtf8) {
  EXPECT_EQ(escape_bytes("\xff\xfel\x00"s), "\\xff\\xfel\\x00");          // a UTF-16 byte order mark
  EXPECT_EQ(escape_bytes("caf\xe9!"), "caf\\xe9!");                         // Latin-1
  EXPECT_EQ(escape_bytes("\xc3"), "\\xc3");                                  // a sequence cut short
  EXPECT_EQ(escape_bytes("\xc0\xaf"), "\\xc0\\xaf");                         // overlong '/'
  EXPECT_EQ(escape_bytes("\xed\xa0\x80"), "\\xed\\xa0\\x80");                // a UTF-16 surrogate
  EXPECT_EQ(escape_bytes("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");       // above U+10FFFF
  EXPECT_EQ(escape_bytes("\x80\xbf"), "\\x80\\xbf");                         // continuation bytes alone
}

TEST(Excerpt, KeepsShortTextWhole) {
  const std::string text(kMaxQuotedChars, 'x');
  EXPECT_EQ(excerpt(text), text);
  EXPECT_EQ(quoted_excerpt("abc"), "'abc'");
}

TEST(Excerpt, CutsLongTextAtTheLimitAndSaysSo) {
  EXPECT_EQ(excerpt(std::string(7000, 'x')), std::string(kMaxQuotedChars, 'x') + "...");
  EXPECT_EQ(quoted_excerpt(std::string(kMaxQuotedChars + 1, 'y')), "'" + std::string(kMaxQuotedChars, 'y') + "...'");
}

TEST(Excerpt, CountsEscapesByTheirLengthAndNeverSplitsOneOrACharacter) {
  const std::string nuls(100, '\0');
  const std::string cut = excerpt(nuls);
  EXPECT_EQ(cut, [] {
    std::string shown;
    for (size_t i = 0; i < kMaxQuotedChars / 4; ++i) shown += "\\x00";
    return shown + "...";
  }());
  // Two-byte characters count one each: kMaxQuotedChars of them fit, whole.
  std::string accents;
  for (size_t i = 0; i < kMaxQuotedChars + 5; ++i) accents += "\xc3\xa9";
  EXPECT_EQ(excerpt(accents), accents.substr(0, 2 * kMaxQuotedChars) + "...");
}

TEST(JsonErrorText, DropsTheLibraryPrefixAndCutsTheTokenItQuotes) {
  EXPECT_EQ(json_error_text("[json.exception.parse_error.101] parse error at line 1, column 2: syntax error while "
                            "parsing value - invalid literal; last read: 'x'"),
            "parse error at line 1, column 2: syntax error while parsing value - invalid literal; last read: 'x'");
  const std::string long_token = "\"" + std::string(1200, 'a');
  const std::string cut = json_error_text("[json.exception.parse_error.101] parse error at line 1, column 1202: "
                                          "syntax error while parsing value - invalid string: missing closing quote; "
                                          "last read: '" + long_token + "'; expected end of input");
  EXPECT_EQ(cut, "parse error at line 1, column 1202: syntax error while parsing value - invalid string: missing "
                 "closing quote; last read: '" + excerpt(long_token) + "'; expected end of input");
  EXPECT_EQ(json_error_text("[json.exception.out_of_range.406] number overflow parsing '1e999'"),
            "number overflow parsing '1e999'");
  EXPECT_EQ(json_error_text("parse error: last read: '\xff'"), "parse error: last read: '\\xff'");
}

}  // namespace
}  // namespace cudamlp
