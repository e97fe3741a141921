// Text helpers for messages: whatever bytes an input holds, a message quoting it stays one
// readable line of UTF-8 (control characters and malformed UTF-8 escaped, other characters
// kept, long values cut at a character boundary).
#include <doctest/doctest.h>

#include <string>

#include "data/text.h"

using namespace tt;

TEST_CASE("text: escape_for_message escapes control characters and malformed UTF-8, keeps the rest") {
  CHECK(escape_for_message("plain, with 'quotes' and \\ backslash") == "plain, with 'quotes' and \\ backslash");
  CHECK(escape_for_message("a\nb\rc\td\x01\x7F") == "a\\x0Ab\\x0Dc\\x09d\\x01\\x7F");
  CHECK(escape_for_message("caf\xC3\xA9 \xE6\x97\xA5 \xF0\x9F\x8E\xAC") == "caf\xC3\xA9 \xE6\x97\xA5 \xF0\x9F\x8E\xAC");
  CHECK(escape_for_message("\xC2\x85 \xC2\xA0") == "\\xC2\\x85 \xC2\xA0");  // C1 NEL escaped, NBSP kept
  CHECK(escape_for_message("\xE2\x80\xA8|\xE2\x80\xA9") == "\\xE2\\x80\\xA8|\\xE2\\x80\\xA9");  // line separators
  // Malformed: a lone continuation byte, an overlong form, a surrogate, a truncated sequence.
  CHECK(escape_for_message("\x80|\xC0\xAF|\xED\xA0\x80|\xE6\x97") == "\\x80|\\xC0\\xAF|\\xED\\xA0\\x80|\\xE6\\x97");
  CHECK(escape_for_message("") == "");
}

TEST_CASE("text: quote_for_message quotes, escapes and cuts long values at a character boundary") {
  CHECK(quote_for_message("x\ty") == "'x\\x09y'");
  CHECK(quote_for_message("\xC3\xA9t\xC3\xA9") == "'\xC3\xA9t\xC3\xA9'");
  const std::string long_ascii(100, 'a');
  CHECK(quote_for_message(long_ascii) == "'" + std::string(60, 'a') + "'... (100 bytes)");
  // 59 ASCII bytes then a 2-byte character: the character is shown whole.
  const std::string straddling = std::string(59, 'a') + "\xC3\xA9" + std::string(10, 'b');
  CHECK(quote_for_message(straddling) == "'" + std::string(59, 'a') + "\xC3\xA9'... (71 bytes)");
}

TEST_CASE("text: find_invalid_utf8 finds the first bad byte after ASCII runs of any length") {
  for (size_t run = 0; run < 40; ++run) {
    CAPTURE(run);
    const std::string ascii(run, 'a');
    CHECK(find_invalid_utf8(ascii) == std::string_view::npos);
    CHECK(find_invalid_utf8(ascii + "\xC3\xA9" + ascii) == std::string_view::npos);  // é, valid
    CHECK(find_invalid_utf8(ascii + "\xFF" + ascii) == run);
    CHECK(find_invalid_utf8(ascii + "\xC3(" + ascii) == run);                      // lead byte, no continuation
    CHECK(find_invalid_utf8(ascii + "\xE2\x82") == run);                           // cut short at the end
    CHECK(find_invalid_utf8(ascii + "\xC3\xA9" + ascii + "\x80") == 2 * run + 2);  // stray continuation
  }
}
