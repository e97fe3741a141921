#include "data/movielens.h"

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <optional>
#include <unordered_map>
#include <vector>

#include "base/error.h"
#include "data/checksum.h"
#include "data/parse_number.h"
#include "data/read_file.h"
#include "data/text.h"

namespace tt {
namespace {

namespace fs = std::filesystem;

constexpr size_t kItemFields = 24;   // id, title, 2 dates, URL, 19 genre flags (see the README)
constexpr size_t kRatingFields = 4;  // user id, item id, rating, timestamp

// Positions in a file for messages: "DIR/u.data:17: field 3 (rating): ...".
struct Where {
  const std::string& path;
  size_t line;
  std::string at() const { return path + ":" + std::to_string(line) + ": "; }
  [[noreturn]] void fail_field(size_t field, const char* name, const std::string& msg) const {
    fail(ErrorKind::parse, at() + "field " + std::to_string(field) + " (" + name + "): " + msg);
  }
};

std::string read_nonempty(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(ErrorKind::io, "MovieLens file '" + path + "' does not exist");
  std::string bytes = read_file(path, "MovieLens file");
  if (bytes.empty()) fail(ErrorKind::parse, path + ":1: file is empty");
  return bytes;
}

void expect_field_count(const Where& where, const std::vector<std::string_view>& fields, size_t expected,
                        char separator) {
  if (fields.size() == expected) return;
  const char* sep_name = separator == '\t' ? "tab" : "'|'";
  if (fields.size() == 1 && fields[0].empty()) fail(ErrorKind::parse, where.at() + "empty line");
  fail(ErrorKind::parse, where.at() + "expected " + std::to_string(expected) + " " + sep_name +
                             "-separated fields, found " + std::to_string(fields.size()));
}

// MovieLens ids are positive integers; the text is kept as the id (TFDS does the same).
int64_t parse_id(const Where& where, size_t field, const char* name, std::string_view text) {
  int64_t id = 0;
  const NumberStatus status = parse_int64(text, id);
  if (status != NumberStatus::ok) where.fail_field(field, name, describe_number_error(status, text, "integer id"));
  if (id <= 0) where.fail_field(field, name, "id " + quote_for_message(text) + " is not positive");
  return id;
}

// u.item is ISO-8859-1, where every byte is a character, so "invalid encoding" means bytes no
// Latin-1 text contains: controls (NUL, a stray \r) and C1 controls (0x80-0x9F), which appear
// when the file was re-saved as Windows-1252 or UTF-8. A title that is valid multi-byte UTF-8 is
// rejected too: decoding it as Latin-1 would silently produce mojibake ("MisÃ©rables").
std::string decode_title(const Where& where, std::string_view raw) {
  bool non_ascii = false;
  for (size_t i = 0; i < raw.size(); ++i) {
    const auto c = static_cast<unsigned char>(raw[i]);
    if (c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F))
      where.fail_field(2, "movie title",
                       "byte " + quote_for_message(raw.substr(i, 1)) + " at offset " + std::to_string(i) +
                           " is not ISO-8859-1 text");
    non_ascii |= c >= 0x80;
  }
  if (non_ascii && find_invalid_utf8(raw) == std::string_view::npos)
    where.fail_field(2, "movie title",
                     quote_for_message(raw) + " looks UTF-8 encoded; MovieLens 100k's u.item is ISO-8859-1");
  return latin1_to_utf8(raw);
}

// u.item's 19 genre flags, in file order (the MovieLens README and u.genre list them).
constexpr const char* kGenres[] = {"unknown",   "Action",   "Adventure",   "Animation", "Children's",
                                   "Comedy",    "Crime",    "Documentary", "Drama",     "Fantasy",
                                   "Film-Noir", "Horror",   "Musical",     "Mystery",   "Romance",
                                   "Sci-Fi",    "Thriller", "War",         "Western"};
static_assert(std::size(kGenres) == kItemFields - 5);

// "Action|Comedy": the genres whose flag is 1, in u.item's order.
std::string parse_genres(const Where& where, const std::vector<std::string_view>& fields) {
  std::string genres;
  for (size_t g = 0; g < std::size(kGenres); ++g) {
    const std::string_view flag = fields[5 + g];
    if (flag != "0" && flag != "1")
      where.fail_field(6 + g, kGenres[g], "genre flag " + quote_for_message(flag) + " is not 0 or 1");
    if (flag == "1") genres += (genres.empty() ? "" : "|") + std::string(kGenres[g]);
  }
  return genres;
}

// The year of a release date "01-Jan-1995"; 0 when the date is empty (one movie, "unknown").
int64_t parse_year(const Where& where, std::string_view date) {
  if (date.empty()) return 0;
  int64_t year = 0;
  const size_t dash = date.rfind('-');
  const std::string_view digits = dash == std::string_view::npos ? date : date.substr(dash + 1);
  if (digits.size() != 4 || parse_int64(digits, year) != NumberStatus::ok)
    where.fail_field(3, "release date", quote_for_message(date) + " is not a date like 01-Jan-1995");
  return year;
}

struct Catalogue {
  Table table;
  std::unordered_map<int64_t, size_t> row_of_id;
};

Catalogue load_items(const std::string& path) {
  const std::string bytes = read_nonempty(path);
  Column::Strings ids, titles, genres;
  Column::Ints years;
  std::unordered_map<int64_t, size_t> row_of_id;
  std::vector<std::string_view> fields;
  LineReader lines(bytes);
  std::string_view line;
  while (lines.next(line)) {
    const Where where{path, lines.line_number()};
    split_fields(line, '|', fields);
    expect_field_count(where, fields, kItemFields, '|');
    const int64_t id = parse_id(where, 1, "movie id", fields[0]);
    auto [it, inserted] = row_of_id.emplace(id, ids.size());
    if (!inserted)
      where.fail_field(
          1, "movie id",
          "movie id " + std::to_string(id) + " already appeared on line " + std::to_string(it->second + 1));
    ids.emplace_back(fields[0]);
    titles.push_back(decode_title(where, fields[1]));
    genres.push_back(parse_genres(where, fields));
    years.push_back(parse_year(where, fields[2]));
  }
  Catalogue out;
  out.table.add(Column("movie_id", std::move(ids)));
  out.table.add(Column("movie_title", std::move(titles)));
  out.table.add(Column("movie_genres", std::move(genres)));
  out.table.add(Column("movie_year", std::move(years)));
  out.row_of_id = std::move(row_of_id);
  return out;
}

// u.user, when the directory has it: one row per user id.
struct Users {
  Column::Ints ages;
  Column::Strings genders, occupations, zips;
  std::unordered_map<int64_t, size_t> row_of_id;
};

constexpr size_t kUserFields = 5;  // user id, age, gender, occupation, zip code
// Characters of the zip code kept in user_zip_prefix: the first two digits of a US zip code
// name one of about 100 areas (111 distinct prefixes among the 943 users, about 8 users each),
// coarse enough to be shared by users with few ratings.
constexpr size_t kZipPrefix = 2;

Users load_users(const std::string& path) {
  const std::string bytes = read_nonempty(path);
  Users u;
  std::vector<std::string_view> fields;
  LineReader lines(bytes);
  std::string_view line;
  while (lines.next(line)) {
    const Where where{path, lines.line_number()};
    split_fields(line, '|', fields);
    expect_field_count(where, fields, kUserFields, '|');
    const int64_t id = parse_id(where, 1, "user id", fields[0]);
    auto [it, inserted] = u.row_of_id.emplace(id, u.ages.size());
    if (!inserted)
      where.fail_field(1, "user id",
                       "user id " + std::to_string(id) + " already appeared on line " + std::to_string(it->second + 1));
    int64_t age = 0;
    const NumberStatus status = parse_int64(fields[1], age);
    if (status != NumberStatus::ok) where.fail_field(2, "age", describe_number_error(status, fields[1], "age"));
    if (age < 0 || age > 150)
      where.fail_field(2, "age", "age " + quote_for_message(fields[1]) + " is outside 0 to 150");
    if (fields[2] != "M" && fields[2] != "F")
      where.fail_field(3, "gender", quote_for_message(fields[2]) + " is not M or F");
    if (fields[3].empty()) where.fail_field(4, "occupation", "empty");
    u.ages.push_back(age);
    u.genders.emplace_back(fields[2]);
    u.occupations.emplace_back(fields[3]);
    u.zips.emplace_back(fields[4]);
  }
  return u;
}

Table load_ratings(const std::string& path, const Catalogue& catalogue, const Users* user_file) {
  const std::string bytes = read_nonempty(path);
  const auto& titles = catalogue.table.column("movie_title").strings();
  const auto& genres = catalogue.table.column("movie_genres").strings();
  const auto& years = catalogue.table.column("movie_year").ints();
  // u.data has one line of about 24 bytes per rating; reserving avoids regrowing 4 vectors.
  const size_t expected_rows = static_cast<size_t>(std::count(bytes.begin(), bytes.end(), '\n')) + 1;
  Column::Strings users, movie_titles, movie_genres;
  Column::Ints timestamps, movie_years;
  Column::Floats ratings;
  std::vector<size_t> user_rows;  // per rating, its u.user row (when there is a u.user)
  users.reserve(expected_rows);
  movie_titles.reserve(expected_rows);
  timestamps.reserve(expected_rows);
  ratings.reserve(expected_rows);

  std::vector<std::string_view> fields;
  LineReader lines(bytes);
  std::string_view line;
  while (lines.next(line)) {
    const Where where{path, lines.line_number()};
    split_fields(line, '\t', fields);
    expect_field_count(where, fields, kRatingFields, '\t');
    const int64_t user = parse_id(where, 1, "user id", fields[0]);
    if (user_file) {
      const auto u = user_file->row_of_id.find(user);
      if (u == user_file->row_of_id.end())
        where.fail_field(1, "user id", "user id " + std::to_string(user) + " is not in u.user");
      user_rows.push_back(u->second);
    }
    const int64_t item = parse_id(where, 2, "item id", fields[1]);
    const auto row = catalogue.row_of_id.find(item);
    if (row == catalogue.row_of_id.end())
      where.fail_field(2, "item id", "movie id " + std::to_string(item) + " is not in u.item");

    float rating = 0;
    const NumberStatus rating_status = parse_float32(fields[2], rating);
    if (rating_status != NumberStatus::ok)
      where.fail_field(3, "rating", describe_number_error(rating_status, fields[2], "rating"));
    if (rating < 1.0f || rating > 5.0f)
      where.fail_field(3, "rating", "rating " + quote_for_message(fields[2]) + " is outside 1 to 5");

    int64_t timestamp = 0;
    const NumberStatus ts_status = parse_int64(fields[3], timestamp);
    if (ts_status != NumberStatus::ok)
      where.fail_field(4, "timestamp", describe_number_error(ts_status, fields[3], "int64 Unix timestamp"));
    if (timestamp < 0)
      where.fail_field(4, "timestamp", "timestamp " + quote_for_message(fields[3]) + " is before 1970");

    users.emplace_back(fields[0]);
    movie_titles.push_back(titles[row->second]);
    movie_genres.push_back(genres[row->second]);
    movie_years.push_back(years[row->second]);
    timestamps.push_back(timestamp);
    ratings.push_back(rating);
  }
  Table table;
  table.add(Column("user_id", std::move(users)));
  table.add(Column("movie_title", std::move(movie_titles)));
  table.add(Column("timestamp", std::move(timestamps)));
  table.add(Column("rating", std::move(ratings)));
  table.add(Column("movie_genres", std::move(movie_genres)));
  table.add(Column("movie_year", std::move(movie_years)));
  if (user_file) {
    const std::span<const size_t> take(user_rows);
    Column::Strings prefixes;
    prefixes.reserve(user_file->zips.size());
    for (const auto& z : user_file->zips) prefixes.push_back(z.substr(0, kZipPrefix));
    table.add(Column("user_age", Column::Ints(user_file->ages)).take(take));
    table.add(Column("user_gender", Column::Strings(user_file->genders)).take(take));
    table.add(Column("user_occupation", Column::Strings(user_file->occupations)).take(take));
    table.add(Column("user_zip", Column::Strings(user_file->zips)).take(take));
    table.add(Column("user_zip_prefix", std::move(prefixes)).take(take));
  }
  return table;
}

}  // namespace

MovieLens load_movielens(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail(ErrorKind::io, "MovieLens directory '" + dir + "' does not exist");
  if (fs::exists(fs::path(dir) / "SHA256SUMS", ec)) {
    const auto verified = verify_sha256sums(dir);
    for (const char* required : {"u.data", "u.item"})
      if (std::find(verified.begin(), verified.end(), required) == verified.end())
        fail(ErrorKind::corrupt,
             (fs::path(dir) / "SHA256SUMS").string() + " does not list " + required + ", so it cannot be verified");
  }
  Catalogue catalogue = load_items((fs::path(dir) / "u.item").string());
  MovieLens out;
  // u.user is optional: without it the ratings have no user_* columns.
  std::optional<Users> users;
  const fs::path user_path = fs::path(dir) / "u.user";
  if (fs::exists(user_path, ec)) users = load_users(user_path.string());
  out.ratings = load_ratings((fs::path(dir) / "u.data").string(), catalogue, users ? &*users : nullptr);
  out.catalogue = std::move(catalogue.table);
  return out;
}

}  // namespace tt
