// Seeds of fuzz_delimited: small synthetic CSV and TSV files covering the reader's structure
// (quoted fields with delimiters, doubled quotes and line breaks, CRLF, a byte-order mark,
// multi-byte UTF-8, blank lines, every separator, typed columns at their limits) and files it
// must refuse (each with one defect), each behind the control bytes of delimited_input.h.
#include <string>

#include "delimited_input.h"
#include "seeds.h"

namespace tt::fuzz {

namespace {

constexpr DType S = DType::string, I = DType::int64, F = DType::float32;

// 200 rows of ratings-like data, deterministic.
std::string many_rows() {
  std::string csv = "user_id,item_id,timestamp,rating,title\n";
  uint32_t x = 12345;
  for (int r = 0; r < 200; ++r) {
    x = x * 1103515245u + 12345u;
    csv += "u" + std::to_string(x % 97) + "," + std::to_string(x % 1013) + "," + std::to_string(880000000 + x % 9999) +
           "," + std::to_string(1 + x % 5) + ".5," +
           (x % 3 == 0 ? "\"Item, the " + std::to_string(r) + "\"" : "Item " + std::to_string(r)) + "\n";
  }
  return csv;
}

}  // namespace

void write_delimited_seeds(SeedDir& out) {
  auto seed = [&](const std::string& name, char delim, bool quoting, std::vector<DType> types, const std::string& text,
                  bool ask_missing = false) {
    out.write(name, encode_delimited(delim, quoting, types, text, ask_missing));
  };
  // Files the reader accepts.
  seed("ratings.csv", ',', true, {S, I, F, S},
       "user_id,timestamp,rating,title\nu1,880000000,4.5,Toy Story (1995)\nu2,880000001,3,Heat (1995)\n");
  seed("quoted.csv", ',', true, {S, S, I, S},
       "user_id,title,timestamp,note\r\n"
       "\"a,b\",\"He said \"\"hi\"\"\",1,\"multi\nline\"\r\n"
       "\"\",plain,2,\"x\r\ny\"\r\n"
       "u3,\"\"\"quoted\"\" start\",3,\"\"\r\n");
  seed("crlf_no_final_newline.csv", ',', true, {S, I, F}, "a,b,c\r\nx,1,0.25\r\ny,2,-1e3");
  seed("bom_unicode.csv", ',', true, {S, I, S},
       "\xEF\xBB\xBF"
       "ключ,時間,note\n"
       "caf\xC3\xA9,1,\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\n"
       "\xF0\x9F\x8E\xAC film,2,\"e\xCC\x81, combining\"\n"
       "\xE2\x80\x8B zero width,3,\xEF\xBF\xBD\n");
  seed("tab.tsv", '\t', false, {S, I, F}, "user_id\ttimestamp\trating\n\"q\"\t5\t2\nx,y\t6\t3\r\nsay \"hi\"\t7\t4.5\n");
  seed("blank_lines_crlf.tsv", '\t', false, {S, S}, "a\tb\r\n\r\nx\t\r\n\n\ny\tz\r\n");
  seed("numbers.csv", ',', true, {I, F, I, F},
       "i,f,j,g\n"
       "-9223372036854775808,1e-45,9223372036854775807,3.4028235e38\n"
       "+7, -0 , 42 ,.5\n"
       "\" 3\",5.,0,1E+3\n"
       "-1,\t-2.5\t,1,1.17549435e-38\n");
  seed("semicolon.csv", ';', true, {S, S, I}, "name;price;qty\n\"Caf\xC3\xA9; bar\";\"4,5\";3\nplain;1,25;-2\n");
  seed("pipe.csv", '|', true, {S, S}, "movie|genres\nHeat|\"Action|Crime\"\n\"A \"\"B\"\"\"|Drama\n");
  seed("empty_trailing_fields.csv", ',', true, {S, S, S}, "a,b,c\nx,,\n,,\n\"\",\"\",\"\"\n");
  seed("header_only.csv", ',', true, {S, I}, "a,b\n");
  seed("wide.csv", ',', true, {S, I, F, S, S, S, S, S},
       "c1,c2,c3,c4,c5,c6,c7,c8\nx,1,2,y,z,w,v,u\n\"p\",3,4,\"q\",r,s,t,\"o\"\n");
  seed("many_rows.csv", ',', true, {S, I, I, F, S}, many_rows());
  seed("quoting_off.csv", ',', false, {S, S}, "a,b\n\"x,y\n\"\"z\",w\n");
  // Files the reader refuses, one defect each.
  seed("bad_unterminated_quote.csv", ',', true, {S, S}, "a,b\n\"open,1\n2,3\n");
  seed("bad_text_after_quote.csv", ',', true, {S, S}, "a,b\n\"x\"y,1\n");
  seed("bad_field_count.csv", ',', true, {S, S, S}, "a,b,c\n1,2\n1,2,3,4\n");
  seed("bad_number.csv", ',', true, {I, F}, "a,b\n12x,nan\n99999999999999999999,1e39\n,inf\n");
  seed("bad_utf8.csv", ',', true, {S, S}, "a,b\n\xC3\x28,\xED\xA0\x80\n\xF4\x90\x80\x80,\xC0\xAF\n");
  seed("bad_duplicate_header.csv", ',', true, {S, S}, "a,a\n1,2\n");
  seed("bad_missing_column.csv", ',', true, {S}, "a,b\n1,2\n", true);
  seed("bad_cr_only.csv", ',', true, {S, I}, "a,b\rx,1\ry,2\r");
  seed("bad_empty.csv", ',', true, {S}, "");
}

}  // namespace tt::fuzz
