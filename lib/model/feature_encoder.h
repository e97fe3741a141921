// One input feature of a tower: a fitted preprocessing transform that turns a raw column into
// embedding-table ids (lookup, hashing, discretization), token ids (text) or a float (normalization).
#pragma once

#include <span>
#include <variant>
#include <vector>

#include "data/table.h"
#include "features/discretization.h"
#include "features/hashing.h"
#include "features/multi_value_lookup.h"
#include "features/normalization.h"
#include "features/string_lookup.h"
#include "features/text_vectorization.h"
#include "model/spec.h"

namespace tt {

// A feature's encoded values for a set of rows: `ids` (rows x width, width 1 except for text and
// multi_value_lookup, whose rows are padded with id 0)
// or `values` (normalization).
struct EncodedFeature {
  std::vector<int32_t> ids;
  size_t width = 1;
  std::vector<float> values;
};

struct EncodedBatch {
  size_t rows = 0;
  std::vector<EncodedFeature> features;
  // Makes this batch hold rows[i] of `all`, reusing its buffers.
  void gather(const EncodedBatch& all, std::span<const size_t> rows);
  // The same in two steps, so threads can each fill a share of the rows: shape() sizes the
  // buffers for `rows` rows of `all`, then gather_rows() copies rows[i] for i in [begin, end).
  void shape(const EncodedBatch& all, size_t rows);
  void gather_rows(const EncodedBatch& all, std::span<const size_t> rows, size_t begin, size_t end);
};

class FeatureEncoder {
 public:
  explicit FeatureEncoder(FeatureSpec spec);

  const FeatureSpec& spec() const { return spec_; }
  bool fitted() const { return !std::holds_alternative<std::monostate>(transform_); }
  // Fits the transform on the table named by spec().fit_on (given vocabularies and boundaries
  // are used as they are).
  void fit(const Table& interactions, const Table& candidates);
  // Installs a transform fitted elsewhere (streamed preprocessing: model/streamed_fit.h).
  template <class T>
  void set_fitted(T transform) {
    transform_ = std::move(transform);
  }
  // Encodes column spec().column of `t`; throws naming the feature and column on a missing
  // column or a wrong type.
  void encode(const Table& t, EncodedFeature& out) const;

  bool has_embedding() const { return spec_.kind != FeatureKind::normalization; }
  size_t output_dim() const { return has_embedding() ? spec_.embedding_dim : 1; }
  size_t table_rows() const;  // embedding rows (needs fitted())

  // A one-line description of the fitted state for summaries.
  std::string describe() const;

  void save_state(ByteWriter& w) const;
  void load_state(ByteReader& r);

  const StringLookup* string_lookup() const { return std::get_if<StringLookup>(&transform_); }
  const Discretization* discretization() const { return std::get_if<Discretization>(&transform_); }
  const Normalization* normalization() const { return std::get_if<Normalization>(&transform_); }
  const TextVectorization* text() const { return std::get_if<TextVectorization>(&transform_); }
  const MultiValueLookup* multi_value_lookup() const { return std::get_if<MultiValueLookup>(&transform_); }
  // Text and multi_value_lookup: several ids per row, pooled into one embedding.
  bool pooled() const { return spec_.kind == FeatureKind::text || spec_.kind == FeatureKind::multi_value_lookup; }

 private:
  FeatureSpec spec_;
  std::variant<std::monostate, StringLookup, Hashing, Discretization, Normalization, TextVectorization,
               MultiValueLookup>
      transform_;
};

}  // namespace tt
