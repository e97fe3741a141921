// The MovieLens 100k loader: the ratings and the movie catalogue as TFDS presents them to the
// TFRS tutorials (titles decoded from ISO-8859-1 to UTF-8, trailing spaces kept).
#pragma once

#include <string>

#include "data/table.h"

namespace tt {

struct MovieLens {
  // u.data in file order: user_id (string), movie_title (string), timestamp (int64),
  // rating (float32), then the rated movie's movie_genres and movie_year (from u.item), then,
  // when the directory has u.user, the rating user's user_age (int64, years), user_gender
  // ("M"/"F"), user_occupation, user_zip and user_zip_prefix (its first two characters), all
  // strings. The side files are denormalised into the ratings (docs/model-spec.md says why).
  Table ratings;
  // u.item in file order: movie_id (string), movie_title (string), movie_genres (string: the
  // genres flagged 1, in u.item's order, joined by '|', e.g. "Animation|Children's|Comedy";
  // empty for none) and movie_year (int64: the release date's year, 0 when the date is empty).
  // Titles are not unique (18 titles occur under two ids), so the catalogue keeps one row per
  // movie id.
  Table catalogue;
};

// Loads DIR/u.data and DIR/u.item, and DIR/u.user when it exists. If DIR/SHA256SUMS exists, every file it lists is
// verified first and it must list u.data and u.item. Any malformed input throws tt::Error naming file, line and field
// (ErrorKind::io for missing files, parse for bad content, corrupt for checksum mismatches); nothing partial is
// returned.
MovieLens load_movielens(const std::string& dir);

}  // namespace tt
