#include "persist/vector_index_file.h"

#include "io/model_file.h"
#include "persist/ann_section.h"

namespace tt {

namespace {

std::vector<SectionData> sections(const VectorIndex& index) {
  std::vector<SectionData> s(1);
  s[0].kind = static_cast<uint32_t>(SectionKind::index);
  s[0].bytes = index_section(index.index(), index.dim(), index.precision());
  if (index.index().partitions()) {
    SectionData ann;
    ann.kind = static_cast<uint32_t>(SectionKind::ann);
    ann.required = false;  // readers that predate it search exactly
    ann.bytes = ann_section(index.index());
    s.push_back(std::move(ann));
  }
  return s;
}

uint32_t required_features(const VectorIndex& index) {
  return index.precision() == Precision::f32 ? 0 : kRequiredFeatureQuantized;
}

VectorIndex load(const ModelFileReader& f) {
  f.verify_padding();
  if (!f.has(SectionKind::index)) fail(ErrorKind::corrupt, f.name() + ": no index section: not an index or a model");
  Precision precision = Precision::f32;
  CandidateIndex index = load_index(f, std::nullopt, precision);
  if (index.dim() == 0)
    fail(ErrorKind::invalid_argument, f.name() + ": the index has dimension 0 (a model saved without an index)");
  if (const auto ann = f.read_if_present(SectionKind::ann))
    index.set_partitions(read_ann_section(*ann, f.name() + ": " + section_label(uint32_t(SectionKind::ann)), index));
  return VectorIndex(std::move(index), precision);
}

}  // namespace

void save_vector_index(const std::string& path, const VectorIndex& index, int compression_level) {
  write_model_file(path, sections(index), compression_level, required_features(index));
}

std::vector<uint8_t> save_vector_index_to_buffer(const VectorIndex& index, int compression_level) {
  return encode_model_file(sections(index), compression_level, required_features(index));
}

VectorIndex load_vector_index(const std::string& path) { return load(ModelFileReader::open(path)); }

VectorIndex load_vector_index_from_buffer(std::span<const uint8_t> data, const std::string& name) {
  return load(ModelFileReader::from_buffer(data, name));
}

}  // namespace tt
