#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <string>

#include "data/checksum.h"
#include "data/movielens.h"
#include "data/text.h"
#include "data_test_helpers.h"
#include "test_support.h"

using namespace tt;
using tt::test::check_message_has;
using tt::test::expect_error;
using tt::test::TempDir;

namespace {

// A u.item line in the real layout: id, title, release date, video date, URL, 19 genre flags.
std::string item_line(const std::string& id, const std::string& title) {
  std::string line = id + "|" + title + "|01-Jan-1995||http://example.invalid/";
  for (int i = 0; i < 19; ++i) line += "|0";
  return line + "\n";
}

const std::string kItems = item_line("1", "Alpha (1995)") + item_line("2", "Beta (1996) ");
const std::string kRatings = "7\t1\t3\t881250949\n9\t2\t5\t874724710\n";

// A fake MovieLens directory with tiny synthetic files and no SHA256SUMS.
struct FakeMovieLens {
  TempDir dir;
  FakeMovieLens(const std::string& items = kItems, const std::string& ratings = kRatings) {
    dir.write("u.item", items);
    dir.write("u.data", ratings);
  }
  Error load_error() const {
    return expect_error([&] { load_movielens(dir.path()); });
  }
};

// Loads a fake directory whose u.data is `ratings` and returns the error, which must be a parse
// error naming u.data, the line and the field.
void check_bad_ratings(const std::string& ratings, const std::string& line, const std::string& field) {
  INFO("u.data: ", ratings);
  FakeMovieLens fake(kItems, ratings);
  const Error e = fake.load_error();
  CHECK(e.kind() == ErrorKind::parse);
  check_message_has(e, {"u.data:" + line + ":", field});
}

void check_bad_items(const std::string& items, const std::string& line, const std::string& field) {
  INFO("u.item: ", items);
  FakeMovieLens fake(items, kRatings);
  const Error e = fake.load_error();
  CHECK(e.kind() == ErrorKind::parse);
  check_message_has(e, {"u.item:" + line + ":", field});
}

}  // namespace

TEST_CASE("movielens: real data has the published counts") {
  const std::string dir = tt::test::movielens_dir();
  if (dir.empty()) {
    MESSAGE("MovieLens 100k not found; skipping");
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  const MovieLens ml = load_movielens(dir);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("load_movielens (with SHA-256 verification) took " << seconds << " s");

  const Table& r = ml.ratings;
  REQUIRE(r.num_rows() == 100'000);
  REQUIRE(r.num_columns() == 11);
  CHECK(r.columns()[0].name() == "user_id");
  CHECK(r.columns()[1].name() == "movie_title");
  CHECK(r.columns()[2].name() == "timestamp");
  CHECK(r.columns()[3].name() == "rating");
  // The side files, denormalised: the rated movie's genres and year, the user's u.user row.
  CHECK(r.columns()[4].name() == "movie_genres");
  CHECK(r.columns()[5].name() == "movie_year");
  CHECK(r.columns()[6].name() == "user_age");
  CHECK(r.columns()[10].name() == "user_zip_prefix");
  // u.data line 1: user 196 rated movie 242, Kolya (1996), a comedy released 24-Jan-1997;
  // u.user: 196|49|M|writer|55105.
  CHECK(r.column("movie_genres").strings().front() == "Comedy");
  CHECK(r.column("movie_year").ints().front() == 1997);
  CHECK(r.column("user_age").ints().front() == 49);
  CHECK(r.column("user_gender").strings().front() == "M");
  CHECK(r.column("user_occupation").strings().front() == "writer");
  CHECK(r.column("user_zip").strings().front() == "55105");
  CHECK(r.column("user_zip_prefix").strings().front() == "55");
  {
    const auto& occupations = r.column("user_occupation").strings();
    CHECK(std::set<std::string>(occupations.begin(), occupations.end()).size() == 21);
    const auto& zips = r.column("user_zip_prefix").strings();
    CHECK(std::set<std::string>(zips.begin(), zips.end()).size() == 111);
  }
  CHECK(r.column("timestamp").dtype() == DType::int64);
  CHECK(r.column("rating").dtype() == DType::float32);

  // File order: the first and last lines of u.data.
  CHECK(r.column("user_id").strings().front() == "196");
  CHECK(r.column("movie_title").strings().front() == "Kolya (1996)");
  CHECK(r.column("timestamp").ints().front() == 881250949);
  CHECK(r.column("rating").floats().front() == 3.0f);
  CHECK(r.column("user_id").strings().back() == "12");
  CHECK(r.column("timestamp").ints().back() == 879959583);

  const auto& users = r.column("user_id").strings();
  CHECK(std::set<std::string>(users.begin(), users.end()).size() == 943);
  const auto& ts = r.column("timestamp").ints();
  CHECK(*std::min_element(ts.begin(), ts.end()) == 874724710);
  CHECK(*std::max_element(ts.begin(), ts.end()) == 893286638);
  const auto& ratings = r.column("rating").floats();
  CHECK(*std::min_element(ratings.begin(), ratings.end()) == 1.0f);
  CHECK(*std::max_element(ratings.begin(), ratings.end()) == 5.0f);

  const Table& c = ml.catalogue;
  REQUIRE(c.num_rows() == 1682);
  CHECK(c.columns()[0].name() == "movie_id");
  CHECK(c.columns()[1].name() == "movie_title");
  CHECK(c.column("movie_id").strings().front() == "1");
  CHECK(c.column("movie_title").strings().front() == "Toy Story (1995)");
  CHECK(c.column("movie_genres").strings().front() == "Animation|Children's|Comedy");
  CHECK(c.column("movie_year").ints().front() == 1995);
  {
    // Movie 267 ("unknown") has no release date: year 0. Every movie has some flag set
    // (267 has 'unknown'), so no genres cell is empty.
    const auto& years = c.column("movie_year").ints();
    CHECK(std::count(years.begin(), years.end(), 0) == 1);
    CHECK(*std::max_element(years.begin(), years.end()) == 1998);
    const auto& genres = c.column("movie_genres").strings();
    CHECK(std::count(genres.begin(), genres.end(), "") == 0);
  }
  CHECK(c.column("movie_id").strings().back() == "1682");

  std::map<std::string, int> title_counts;
  int trailing_space = 0;
  for (const auto& title : c.column("movie_title").strings()) {
    ++title_counts[title];
    trailing_space += !title.empty() && title.back() == ' ';
  }
  CHECK(title_counts.size() == 1664);
  CHECK(std::count_if(title_counts.begin(), title_counts.end(), [](const auto& kv) { return kv.second == 2; }) == 18);
  CHECK(std::none_of(title_counts.begin(), title_counts.end(), [](const auto& kv) { return kv.second > 2; }));
  CHECK(trailing_space == 3);
  CHECK(title_counts.count("Heidi Fleiss: Hollywood Madam (1995) ") == 1);
  // Every rated title is a catalogue title.
  for (const auto& title : r.column("movie_title").strings()) REQUIRE(title_counts.count(title) == 1);
}

TEST_CASE("movielens: ISO-8859-1 titles come out as UTF-8") {
  const std::string dir = tt::test::movielens_dir();
  if (dir.empty()) {
    MESSAGE("MovieLens 100k not found; skipping");
    return;
  }
  const MovieLens ml = load_movielens(dir);
  const auto& ids = ml.catalogue.column("movie_id").strings();
  const auto& titles = ml.catalogue.column("movie_title").strings();
  const auto title_of = [&](const std::string& id) {
    const auto it = std::find(ids.begin(), ids.end(), id);
    REQUIRE(it != ids.end());
    return titles[static_cast<size_t>(it - ids.begin())];
  };
  // Byte 0xE9 (é) and 0xC1 (Á) in u.item.
  CHECK(title_of("543") == "Mis\xC3\xA9rables, Les (1995)");
  CHECK(title_of("1633") == "\xC3\x81 k\xC3\xB6ldum klaka (Cold Fever) (1994)");
  for (const auto& title : titles) CHECK(find_invalid_utf8(title) == std::string::npos);
}

TEST_CASE("movielens: the real directory's SHA256SUMS verifies") {
  const std::string dir = tt::test::movielens_dir();
  if (dir.empty()) {
    MESSAGE("MovieLens 100k not found; skipping");
    return;
  }
  const auto verified = verify_sha256sums(dir);
  CHECK(std::find(verified.begin(), verified.end(), "u.data") != verified.end());
  CHECK(std::find(verified.begin(), verified.end(), "u.item") != verified.end());
}

TEST_CASE("movielens: synthetic files load in file order with titles decoded") {
  // 0xE9 is é in ISO-8859-1; CRLF line endings and a missing final newline are accepted.
  const std::string items = item_line("10", "Mis\xE9rables (1995)") + item_line("3", "Trailing (1990) ");
  std::string crlf_items;
  for (char c : items) {
    if (c == '\n') crlf_items += '\r';
    crlf_items += c;
  }
  FakeMovieLens fake(crlf_items, "5\t3\t4\t100\r\n6\t10\t1\t200");
  const MovieLens ml = load_movielens(fake.dir.path());
  CHECK(ml.catalogue.column("movie_id").strings() == Column::Strings{"10", "3"});
  CHECK(ml.catalogue.column("movie_title").strings() ==
        Column::Strings{"Mis\xC3\xA9rables (1995)", "Trailing (1990) "});
  CHECK(ml.ratings.column("user_id").strings() == Column::Strings{"5", "6"});
  CHECK(ml.ratings.column("movie_title").strings() == Column::Strings{"Trailing (1990) ", "Mis\xC3\xA9rables (1995)"});
  CHECK(ml.ratings.column("timestamp").ints() == Column::Ints{100, 200});
  CHECK(ml.ratings.column("rating").floats() == Column::Floats{4.0f, 1.0f});
}

TEST_CASE("movielens: u.user and u.item's genres and year are joined to the ratings") {
  // Beta: Action (flag 2) and Western (flag 19), released 1996; Alpha has no genre flag set.
  std::string beta = "2|Beta (1996)|01-Jun-1996||http://example.invalid/|0|1";
  for (int i = 0; i < 16; ++i) beta += "|0";
  const std::string items = item_line("1", "Alpha (1995)") + beta + "|1\n";
  FakeMovieLens fake(items, "7\t1\t3\t100\n9\t2\t5\t200\n7\t2\t4\t300\n");
  SUBCASE("without u.user: genres and year only") {
    const MovieLens ml = load_movielens(fake.dir.path());
    CHECK(ml.catalogue.column("movie_genres").strings() == Column::Strings{"", "Action|Western"});
    CHECK(ml.catalogue.column("movie_year").ints() == Column::Ints{1995, 1996});
    CHECK(ml.ratings.column("movie_genres").strings() == Column::Strings{"", "Action|Western", "Action|Western"});
    CHECK(!ml.ratings.has("user_age"));
  }
  SUBCASE("with u.user") {
    fake.dir.write("u.user", "9|31|F|artist|T8H1N\n7|17|M|student|02139\n");
    const MovieLens ml = load_movielens(fake.dir.path());
    CHECK(ml.ratings.column("user_age").ints() == Column::Ints{17, 31, 17});
    CHECK(ml.ratings.column("user_gender").strings() == Column::Strings{"M", "F", "M"});
    CHECK(ml.ratings.column("user_occupation").strings() == Column::Strings{"student", "artist", "student"});
    CHECK(ml.ratings.column("user_zip").strings() == Column::Strings{"02139", "T8H1N", "02139"});
    CHECK(ml.ratings.column("user_zip_prefix").strings() == Column::Strings{"02", "T8", "02"});
  }
  SUBCASE("bad u.user lines name file, line and field") {
    auto bad_users = [&](const std::string& users, const std::string& line, const std::string& field) {
      INFO("u.user: ", users);
      fake.dir.write("u.user", users);
      const Error e = fake.load_error();
      CHECK(e.kind() == ErrorKind::parse);
      check_message_has(e, {"u.user:" + line + ":", field});
    };
    bad_users("7|17|M|student|02139\n9|31|F|artist\n", "2", "expected 5 '|'-separated fields, found 4");
    bad_users("7|17|M|student|02139\n9|old|F|artist|1\n", "2", "field 2 (age)");
    bad_users("7|17|M|student|02139\n9|31|X|artist|1\n", "2", "field 3 (gender): 'X' is not M or F");
    bad_users("7|17|M|student|02139\n9|31|F||1\n", "2", "field 4 (occupation)");
    bad_users("7|17|M|student|02139\n7|31|F|artist|1\n", "2", "user id 7 already appeared on line 1");
    // A rating by a user u.user does not list.
    fake.dir.write("u.user", "7|17|M|student|02139\n");
    const Error e = fake.load_error();
    check_message_has(e, {"u.data:2:", "field 1 (user id): user id 9 is not in u.user"});
  }
  SUBCASE("bad genre flags and dates name the field") {
    std::string bad = item_line("1", "Alpha");
    bad.replace(bad.rfind("|0"), 2, "|2");
    check_bad_items(bad, "1", "field 24 (Western): genre flag '2' is not 0 or 1");
    bad = item_line("1", "Alpha");
    bad.replace(bad.find("01-Jan-1995"), 11, "sometime");
    check_bad_items(bad, "1", "field 3 (release date): 'sometime' is not a date");
  }
}

TEST_CASE("movielens: missing directory or files are io errors naming the path") {
  {
    const Error e = expect_error([] { load_movielens("/nonexistent/tt-movielens"); });
    CHECK(e.kind() == ErrorKind::io);
    check_message_has(e, {"/nonexistent/tt-movielens"});
  }
  {
    TempDir dir;
    dir.write("u.item", kItems);
    const Error e = expect_error([&] { load_movielens(dir.path()); });
    CHECK(e.kind() == ErrorKind::io);
    check_message_has(e, {"u.data", "does not exist"});
  }
  {
    TempDir dir;
    dir.write("u.data", kRatings);
    const Error e = expect_error([&] { load_movielens(dir.path()); });
    CHECK(e.kind() == ErrorKind::io);
    check_message_has(e, {"u.item", "does not exist"});
  }
}

TEST_CASE("movielens: empty files are rejected") {
  check_bad_ratings("", "1", "empty");
  check_bad_items("", "1", "empty");
}

TEST_CASE("movielens: wrong field count names the line") {
  check_bad_ratings("7\t1\t3\t881250949\n9\t2\t5\n", "2", "expected 4 tab-separated fields, found 3");
  check_bad_ratings("7\t1\t3\t881250949\n9\t2\t5\t1\t1\n", "2", "found 5");
  check_bad_ratings("7 1 3 881250949\n", "1", "found 1");  // spaces, not tabs
  check_bad_ratings("7\t1\t3\t881250949\n\n9\t2\t5\t874724710\n", "2", "empty line");
  check_bad_items(kItems + "3|Gamma (1997)\n", "3", "expected 24 '|'-separated fields, found 2");
}

TEST_CASE("movielens: non-numeric and out-of-range numbers name the field") {
  check_bad_ratings("7\t1\t3\t881250949\n9\t2\t5\t12abc\n", "2", "field 4 (timestamp): '12abc' is not a valid");
  check_bad_ratings("9\t2\t5\t99999999999999999999\n", "1",
                    "field 4 (timestamp): '99999999999999999999' is out of range");
  check_bad_ratings("9\t2\t5\t-5\n", "1", "field 4 (timestamp)");
  check_bad_ratings("9\t2\t5\t\n", "1", "field 4 (timestamp): empty value");
  check_bad_ratings("x9\t2\t5\t874724710\n", "1", "field 1 (user id)");
  check_bad_ratings("0\t2\t5\t874724710\n", "1", "field 1 (user id): id '0' is not positive");
  check_bad_ratings("9\t2.5\t5\t874724710\n", "1", "field 2 (item id)");
  check_bad_ratings("9\t99999999999999999999\t5\t874724710\n", "1", "field 2 (item id)");
  check_bad_ratings("9\t2\tfive\t874724710\n", "1", "field 3 (rating): 'five' is not a valid");
  check_bad_ratings("9\t2\t6\t874724710\n", "1", "field 3 (rating): rating '6' is outside 1 to 5");
  check_bad_ratings("9\t2\t0\t874724710\n", "1", "field 3 (rating)");
  check_bad_ratings("9\t2\tnan\t874724710\n", "1", "field 3 (rating)");
  check_bad_ratings(std::string("9\t2\t5\t8747\0"
                                "24710\n",
                                17),
                    "1", "field 4 (timestamp): '8747\\x0024710'");
  check_bad_items(item_line("1", "Alpha") + item_line("one", "Beta"), "2", "field 1 (movie id)");
  check_bad_items(item_line("1", "Alpha") + item_line("-2", "Beta"), "2", "field 1 (movie id)");
}

TEST_CASE("movielens: a rating of a movie absent from u.item is an error") {
  check_bad_ratings("7\t1\t3\t881250949\n9\t3\t5\t874724710\n", "2", "field 2 (item id): movie id 3 is not in u.item");
}

TEST_CASE("movielens: a movie id listed twice in u.item is an error") {
  check_bad_items(item_line("1", "Alpha") + item_line("2", "Beta") + item_line("1", "Gamma"), "3",
                  "movie id 1 already appeared on line 1");
}

TEST_CASE("movielens: bytes that are not ISO-8859-1 text are rejected") {
  check_bad_items(item_line("1", "Alpha") + item_line("2", std::string("Be\0ta", 5)), "2",
                  "field 2 (movie title): byte '\\x00'");
  check_bad_items(item_line("1", "Alpha") + item_line("2", "Be\rta"), "2", "byte '\\x0D'");
  check_bad_items(item_line("1", "Alpha") + item_line("2", "Caf\x85"), "2", "byte '\\x85'");  // C1 control
  // "Misérables" saved as UTF-8 would decode to mojibake, so it is refused.
  check_bad_items(item_line("1", "Mis\xC3\xA9rables"), "1", "looks UTF-8 encoded");
}

TEST_CASE("movielens: a wrong SHA256SUMS stops the load") {
  FakeMovieLens fake;
  const std::string item_sum = sha256_hex(kItems);
  const std::string data_sum = sha256_hex(kRatings);
  const std::string wrong(64, '0');

  SUBCASE("matching checksums load") {
    fake.dir.write("SHA256SUMS", data_sum + "  u.data\n" + item_sum + " *u.item\n");
    CHECK(load_movielens(fake.dir.path()).ratings.num_rows() == 2);
  }
  SUBCASE("a mismatch is corrupt and shows both digests") {
    fake.dir.write("SHA256SUMS", data_sum + "  u.data\n" + wrong + "  u.item\n");
    const Error e = fake.load_error();
    CHECK(e.kind() == ErrorKind::corrupt);
    check_message_has(e, {"u.item", "line 2", "expected " + wrong, "actual " + item_sum});
  }
  SUBCASE("a listed file that is missing is an io error") {
    fake.dir.write("SHA256SUMS", data_sum + "  u.data\n" + item_sum + "  u.item\n" + wrong + "  u.user\n");
    const Error e = fake.load_error();
    CHECK(e.kind() == ErrorKind::io);
    check_message_has(e, {"u.user", "missing", "line 3"});
  }
  SUBCASE("SHA256SUMS must cover u.data and u.item") {
    fake.dir.write("SHA256SUMS", item_sum + "  u.item\n");
    const Error e = fake.load_error();
    CHECK(e.kind() == ErrorKind::corrupt);
    check_message_has(e, {"does not list u.data"});
  }
}
