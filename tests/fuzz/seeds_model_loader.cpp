// Seeds of fuzz_model_loader, real model files: small synthetic models with every kind of
// feature, with and without optimizer state, at compression levels 0, 1 and 19, with quantized
// tensors, and a MovieLens-shaped one (samples/movielens/deep-32.json with smaller text and
// bucket tables, fitted on a slice of ml-100k) if the data set is found (TWOTOWER_DATA or
// ../shared/data/ml-100k).
#include <cstdio>
#include <set>
#include <string>

#include "../unit/io_test_support.h"
#include "data/locate.h"
#include "model/dataset.h"
#include "persist/convert.h"
#include "persist/model_serialization.h"
#include "seeds.h"

namespace tt::fuzz {
namespace {

void save(SeedDir& dir, const std::string& name, const RetrievalModel& m, int level, bool opt,
          bool compress_index = true) {
  SaveOptions o;
  o.compression_level = level;
  o.include_optimizer = opt;
  o.compress_index = compress_index;
  save_model((dir.path() / name).string(), m, o);
  dir.written(name);
}

// deep-32 fitted on the first `rows` ml-100k ratings and the titles they mention.
RetrievalModel movielens_slice(const std::string& dir, size_t rows) {
  Dataset d = load_movielens_dataset(dir);
  std::vector<size_t> first(std::min(rows, d.interactions.num_rows()));
  for (size_t i = 0; i < first.size(); ++i) first[i] = i;
  Table inter = d.interactions.take(first);
  std::set<std::string> seen(inter.column("movie_title").strings().begin(),
                             inter.column("movie_title").strings().end());
  std::vector<size_t> keep;
  const auto& titles = d.candidates.column("movie_title").strings();
  for (size_t i = 0; i < titles.size(); ++i)
    if (seen.count(titles[i])) keep.push_back(i);
  Table cat = d.candidates.take(keep);
  ModelSpec spec = ModelSpec::from_file(std::string(TT_SOURCE_DIR) + "/samples/movielens/deep-32.json");
  // Smaller tables than the real thing (the text embedding alone has max_tokens = 10000 rows),
  // so that the seed stays small enough to fuzz quickly.
  for (auto& f : spec.query.features) f.num_boundaries = 50;
  for (auto& f : spec.candidate.features) f.max_tokens = 300;
  RetrievalModel m{TwoTowerModel(spec)};
  m.model().fit_preprocessing(inter, cat);
  m.model().initialize(spec.training.seed);
  TrainOptions t;
  t.epochs = 1;
  t.threads = 1;
  train_model(m.model(), inter, Table(), cat, t);
  ThreadPool pool(1);
  m.build_index(cat, pool);
  m.metadata().data_source = "movielens-100k slice";
  m.metadata().data_fingerprint = table_fingerprint(inter);
  return m;
}

}  // namespace

void write_model_loader_seeds(SeedDir& out) {
  iotest::ModelOptions adagrad;
  const RetrievalModel a = iotest::make_model(adagrad);
  save(out, "small_adagrad_l1.tt", a, 1, false);
  save(out, "small_adagrad_l19_opt.tt", a, 19, true);
  save(out, "small_adagrad_l0_opt.tt", a, 0, true);
  iotest::ModelOptions adam;
  adam.optimizer = "adam";
  adam.top_layer = 4;
  const RetrievalModel b = iotest::make_model(adam);
  save(out, "small_adam_l1_opt.tt", b, 1, true);
  save(out, "small_adam_l19.tt", b, 19, false, false);
  // Quantized tensors (weights and index at bf16, fp16 and int8), uncompressed so that the
  // fuzzer mutates the quantized values and int8 scales directly.
  for (Precision p : {Precision::bf16, Precision::fp16, Precision::int8}) {
    RetrievalModel q = iotest::make_model(adagrad);  // the same model as `a` (not copyable)
    quantize_model(q, p, p);
    save(out, std::string("small_quantized_") + precision_name(p) + "_l0.tt", q, 0, false);
  }
  iotest::ModelOptions fresh;
  fresh.train = false;
  fresh.optimizer_state = false;
  RetrievalModel c = iotest::make_model(fresh);
  c.set_index(CandidateIndex());
  save(out, "small_untrained_empty_index_l0.tt", c, 0, false);
  out.copy_from_source("tests/data/model-v1.tt");

  std::string ml;
  try {
    ml = locate_movielens("", TT_SOURCE_DIR);
  } catch (const Error&) {
  }
  if (!ml.empty()) {
    const RetrievalModel m = movielens_slice(ml, 200);
    save(out, "movielens_deep32_slice_l1.tt", m, 1, true);
    save(out, "movielens_deep32_slice_l0.tt", m, 0, false);
  } else {
    std::printf("  MovieLens not found: no MovieLens-shaped seed\n");
  }
}

}  // namespace tt::fuzz
