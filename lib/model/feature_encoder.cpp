#include "model/feature_encoder.h"

#include <algorithm>
#include <charconv>
#include <sstream>

#include "base/error.h"

namespace tt {

namespace {

// Integer ids are looked up by their decimal text, so a vocabulary fitted on "42" serves 42.
// Only the distinct values are turned into text: a string per row would cost ~32 bytes a row.
std::vector<std::string> distinct_as_strings(const Column& c) {
  if (c.dtype() == DType::string) return c.strings();
  if (c.dtype() == DType::int64) {
    std::vector<int64_t> ints = c.ints();
    std::sort(ints.begin(), ints.end());
    ints.erase(std::unique(ints.begin(), ints.end()), ints.end());
    std::vector<std::string> out;
    out.reserve(ints.size());
    for (int64_t v : ints) out.push_back(std::to_string(v));
    return out;
  }
  fail(ErrorKind::invalid_argument, "column '" + c.name() + "' has type float32; expected string or int64");
}

void lookup_ints(const StringLookup& lookup, std::span<const int64_t> in, std::span<int32_t> out) {
  char buf[24];
  for (size_t i = 0; i < in.size(); ++i) {
    const auto end = std::to_chars(buf, buf + sizeof buf, in[i]).ptr;
    out[i] = lookup.lookup(std::string_view(buf, static_cast<size_t>(end - buf)));
  }
}

std::vector<double> as_doubles(const Column& c) {
  std::vector<double> out(c.size());
  if (c.dtype() == DType::int64) {
    for (size_t i = 0; i < c.size(); ++i) out[i] = static_cast<double>(c.ints()[i]);
  } else if (c.dtype() == DType::float32) {
    for (size_t i = 0; i < c.size(); ++i) out[i] = c.floats()[i];
  } else {
    fail(ErrorKind::invalid_argument, "column '" + c.name() + "' has type string; expected int64 or float32");
  }
  return out;
}

}  // namespace

void EncodedBatch::gather(const EncodedBatch& all, std::span<const size_t> sel) {
  shape(all, sel.size());
  gather_rows(all, sel, 0, sel.size());
}

void EncodedBatch::shape(const EncodedBatch& all, size_t n) {
  rows = n;
  features.resize(all.features.size());
  for (size_t f = 0; f < all.features.size(); ++f) {
    const EncodedFeature& src = all.features[f];
    EncodedFeature& dst = features[f];
    dst.width = src.width;
    dst.ids.resize(src.ids.empty() ? 0 : n * src.width);
    dst.values.resize(src.values.empty() ? 0 : n);
  }
}

void EncodedBatch::gather_rows(const EncodedBatch& all, std::span<const size_t> sel, size_t begin, size_t end) {
  // The selected rows are scattered over all of `all` (a shuffled epoch): each is prefetched
  // kAhead rows before it is copied.
  constexpr size_t kAhead = 16;
  for (size_t f = 0; f < all.features.size(); ++f) {
    const EncodedFeature& src = all.features[f];
    EncodedFeature& dst = features[f];
    const size_t w = src.width;
    // Rows are a few ids wide: plain loops (a memmove call per row costs more than the copy).
    if (!src.ids.empty() && w == 1) {
      for (size_t i = begin; i < end; ++i) {
        if (i + kAhead < end) __builtin_prefetch(src.ids.data() + sel[i + kAhead]);
        dst.ids[i] = src.ids[sel[i]];
      }
    } else if (!src.ids.empty()) {
      for (size_t i = begin; i < end; ++i) {
        if (i + kAhead < end) __builtin_prefetch(src.ids.data() + sel[i + kAhead] * w);
        const int32_t* from = src.ids.data() + sel[i] * w;
        int32_t* to = dst.ids.data() + i * w;
        for (size_t k = 0; k < w; ++k) to[k] = from[k];
      }
    }
    if (!src.values.empty())
      for (size_t i = begin; i < end; ++i) {
        if (i + kAhead < end) __builtin_prefetch(src.values.data() + sel[i + kAhead]);
        dst.values[i] = src.values[sel[i]];
      }
  }
}

FeatureEncoder::FeatureEncoder(FeatureSpec spec) : spec_(std::move(spec)) {}

void FeatureEncoder::fit(const Table& interactions, const Table& candidates) {
  const Table& t = spec_.fit_on == FitOn::interactions ? interactions : candidates;
  const char* table_name = spec_.fit_on == FitOn::interactions ? "interactions" : "candidates";
  if (!t.has(spec_.column))
    fail(ErrorKind::invalid_argument,
         "feature '" + spec_.name + "': the " + table_name + " table has no column '" + spec_.column + "'");
  const Column& c = t.column(spec_.column);
  try {
    switch (spec_.kind) {
      case FeatureKind::string_lookup:
        transform_ = spec_.vocabulary.empty() ? StringLookup::fit(distinct_as_strings(c))
                                              : StringLookup::from_vocabulary(spec_.vocabulary);
        break;
      case FeatureKind::hashing:
        transform_ = Hashing(spec_.num_buckets);
        break;
      case FeatureKind::discretization:
        transform_ = spec_.boundaries.empty()
                         ? Discretization::fit_linspace(std::span<const double>(as_doubles(c)), spec_.num_boundaries)
                         : Discretization::from_boundaries(spec_.boundaries);
        break;
      case FeatureKind::normalization:
        transform_ = Normalization::fit(std::span<const double>(as_doubles(c)));
        break;
      case FeatureKind::text:
        if (c.dtype() != DType::string)
          fail(ErrorKind::invalid_argument, "column '" + c.name() + "' must be string for a text feature");
        transform_ = TextVectorization::fit(c.strings(), spec_.max_tokens);
        break;
      case FeatureKind::multi_value_lookup:
        if (c.dtype() != DType::string)
          fail(ErrorKind::invalid_argument,
               "column '" + c.name() + "' must be string for a multi_value_lookup feature (values joined by '" +
                   std::string(1, spec_.separator) + "')");
        transform_ = spec_.vocabulary.empty() ? MultiValueLookup::fit(c.strings(), spec_.separator)
                                              : MultiValueLookup::from_vocabulary(spec_.vocabulary);
        break;
    }
  } catch (const Error& e) {
    fail(e.kind(), "feature '" + spec_.name + "': " + e.what());
  }
}

void FeatureEncoder::encode(const Table& t, EncodedFeature& out) const {
  if (!fitted()) fail(ErrorKind::invalid_argument, "feature '" + spec_.name + "' is not fitted");
  if (!t.has(spec_.column))
    fail(ErrorKind::invalid_argument,
         "feature '" + spec_.name + "' needs column '" + spec_.column + "', which the input does not have");
  const Column& c = t.column(spec_.column);
  const size_t n = c.size();
  out.width = 1;
  out.ids.clear();
  out.values.clear();
  try {
    std::visit(
        [&](const auto& tr) {
          using T = std::decay_t<decltype(tr)>;
          if constexpr (std::is_same_v<T, StringLookup>) {
            out.ids.resize(n);
            if (c.dtype() == DType::string)
              tr.apply(c.strings(), out.ids);
            else if (c.dtype() == DType::int64)
              lookup_ints(tr, c.ints(), out.ids);
            else
              fail(ErrorKind::invalid_argument, "column '" + c.name() + "' has type float32; expected string or int64");
          } else if constexpr (std::is_same_v<T, Hashing>) {
            out.ids.resize(n);
            if (c.dtype() == DType::string)
              tr.apply(std::span<const std::string>(c.strings()), out.ids);
            else if (c.dtype() == DType::int64)
              tr.apply(std::span<const int64_t>(c.ints()), out.ids);
            else
              fail(ErrorKind::invalid_argument,
                   "column '" + c.name() + "' has type float32; hashing needs string or int64");
          } else if constexpr (std::is_same_v<T, Discretization>) {
            out.ids.resize(n);
            if (c.dtype() == DType::int64)
              tr.apply(std::span<const int64_t>(c.ints()), out.ids);
            else if (c.dtype() == DType::float32)
              tr.apply(std::span<const float>(c.floats()), out.ids);
            else
              fail(ErrorKind::invalid_argument, "column '" + c.name() + "' has type string; expected int64 or float32");
          } else if constexpr (std::is_same_v<T, Normalization>) {
            out.values.resize(n);
            if (c.dtype() == DType::int64)
              tr.apply(std::span<const int64_t>(c.ints()), out.values);
            else if (c.dtype() == DType::float32)
              tr.apply(std::span<const float>(c.floats()), out.values);
            else
              fail(ErrorKind::invalid_argument, "column '" + c.name() + "' has type string; expected int64 or float32");
          } else if constexpr (std::is_same_v<T, TextVectorization> || std::is_same_v<T, MultiValueLookup>) {
            if (c.dtype() != DType::string)
              fail(ErrorKind::invalid_argument,
                   "column '" + c.name() + "' has type " + dtype_name(c.dtype()) + "; expected string");
            TokenBatch tb;
            if constexpr (std::is_same_v<T, TextVectorization>)
              tr.apply(c.strings(), tb);
            else
              tr.apply(c.strings(), spec_.separator, tb);
            out.width = tb.width;
            out.ids = std::move(tb.ids);
          }
        },
        transform_);
  } catch (const Error& e) {
    fail(e.kind(), "feature '" + spec_.name + "': " + e.what());
  }
}

size_t FeatureEncoder::table_rows() const {
  if (auto* s = string_lookup()) return s->table_rows();
  if (auto* h = std::get_if<Hashing>(&transform_)) return h->num_buckets();
  if (auto* d = discretization()) return d->num_buckets();
  if (auto* t = text()) return t->max_tokens();
  if (auto* m = multi_value_lookup()) return m->table_rows();
  return 0;
}

std::string FeatureEncoder::describe() const {
  std::ostringstream o;
  o.precision(10);
  o << spec_.name << " (" << feature_kind_name(spec_.kind) << " of '" << spec_.column << "'): ";
  if (auto* s = string_lookup()) {
    o << s->vocab_size() << " values + OOV = " << s->table_rows() << " rows";
  } else if (auto* h = std::get_if<Hashing>(&transform_)) {
    o << h->num_buckets() << " hash buckets";
  } else if (auto* d = discretization()) {
    o << d->boundaries().size() << " boundaries [" << d->boundaries().front() << " .. " << d->boundaries().back()
      << "] = " << d->num_buckets() << " buckets";
  } else if (auto* n = normalization()) {
    o << "mean " << n->mean() << ", std " << n->scale();
  } else if (auto* t = text()) {
    o << t->vocab_size() << " tokens (incl. padding and OOV), table " << t->max_tokens() << " rows";
  } else if (auto* m = multi_value_lookup()) {
    o << m->vocab_size() << " values + OOV + padding = " << m->table_rows() << " rows, "
      << (spec_.pooling == Pooling::sum ? "sum" : "mean") << "-pooled";
  } else {
    o << "not fitted";
  }
  if (has_embedding()) o << ", embedding " << spec_.embedding_dim;
  return o.str();
}

void FeatureEncoder::save_state(ByteWriter& w) const {
  w.u8(static_cast<uint8_t>(spec_.kind));
  std::visit(
      [&](const auto& tr) {
        using T = std::decay_t<decltype(tr)>;
        if constexpr (std::is_same_v<T, std::monostate>)
          fail(ErrorKind::invalid_argument, "feature '" + spec_.name + "' is not fitted");
        else
          tr.save(w);
      },
      transform_);
}

void FeatureEncoder::load_state(ByteReader& r) {
  const uint8_t kind = r.u8();
  if (kind != static_cast<uint8_t>(spec_.kind))
    r.corrupt("feature '" + spec_.name + "': stored kind " + std::to_string(kind) + " does not match the spec");
  switch (spec_.kind) {
    case FeatureKind::string_lookup:
      transform_ = StringLookup::load(r);
      break;
    case FeatureKind::hashing:
      transform_ = Hashing::load(r);
      break;
    case FeatureKind::discretization:
      transform_ = Discretization::load(r);
      break;
    case FeatureKind::normalization:
      transform_ = Normalization::load(r);
      break;
    case FeatureKind::text:
      transform_ = TextVectorization::load(r);
      break;
    case FeatureKind::multi_value_lookup:
      transform_ = MultiValueLookup::load(r);
      break;
  }
}

}  // namespace tt
