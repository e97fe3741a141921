// The MovieLens 100k loader: the ratings and the movie catalogue as TFDS presents them to the
// TFRS tutorials (titles decoded from ISO-8859-1 to UTF-8, trailing spaces kept).
#pragma once

#include <string>

#include "data/table.h"

namespace tt {

struct MovieLens {
  // u.data in file order: user_id (string), movie_title (string), timestamp (int64),
  // rating (float32).
  Table ratings;
  // u.item in file order: movie_id (string), movie_title (string). Titles are not unique
  // (18 titles occur under two ids), so the catalogue keeps one row per movie id.
  Table catalogue;
};

// Loads DIR/u.data and DIR/u.item. If DIR/SHA256SUMS exists, every file it lists is verified
// first and it must list u.data and u.item. Any malformed input throws tt::Error naming file,
// line and field (ErrorKind::io for missing files, parse for bad content, corrupt for checksum
// mismatches); nothing partial is returned.
MovieLens load_movielens(const std::string& dir);

}  // namespace tt
