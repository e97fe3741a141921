// The MPI exchange of a training step and the start-up agreement check, run under
// `mpirun -np 2` (tests/dist/CMakeLists.txt). Every rank runs every test case in the same order.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <mpi.h>

#include <string>

#include "base/error.h"
#include "dist/agreement.h"
#include "dist/communicator.h"
#include "dist/mpi_exchange.h"

using namespace tt;

namespace {

dist::Communicator world() { return dist::Communicator(MPI_COMM_WORLD, 60.0); }

}  // namespace

TEST_CASE("gathered candidates: this rank's columns first, then the others in rank order") {
  dist::Communicator comm = world();
  dist::MpiExchange ex(comm);
  const int me = comm.rank(), ranks = comm.size();
  REQUIRE(ranks >= 2);
  // Rank r has r + 1 columns of width 3: value 100 r + 10 column + k, id 1000 r + column.
  const size_t n = static_cast<size_t>(me) + 1, d = 3;
  Matrix e(n, d);
  std::vector<int32_t> ids(n);
  std::vector<float> mult(n);
  for (size_t c = 0; c < n; ++c) {
    for (size_t k = 0; k < d; ++k) e.at(c, k) = static_cast<float>(100 * me + 10 * c + k);
    ids[c] = static_cast<int32_t>(1000 * me + c);
    mult[c] = static_cast<float>(c + 1);
  }
  GatheredCandidates all;
  ex.gather_candidates(StepCandidates{&e, ids, {}, mult}, all);
  const size_t total = static_cast<size_t>(ranks * (ranks + 1) / 2);
  REQUIRE(all.embeddings.rows() == total);
  CHECK(all.sampling_probability.empty());
  size_t col = 0;
  std::vector<int> order{me};
  for (int r = 0; r < ranks; ++r)
    if (r != me) order.push_back(r);
  for (int r : order)
    for (size_t c = 0; c <= static_cast<size_t>(r); ++c, ++col) {
      CHECK(all.ids[col] == static_cast<int32_t>(1000 * r + c));
      CHECK(all.multiplicity[col] == static_cast<float>(c + 1));
      for (size_t k = 0; k < d; ++k) CHECK(all.embeddings.at(col, k) == static_cast<float>(100 * r + 10 * c + k));
    }

  // Gradients of the gathered columns go back to their owners, summed over the ranks: every
  // rank writes (its rank + 1) x (the column's index in rank order) to every column.
  Matrix dc_all(total, d), mine;
  col = 0;
  for (int r : order) {
    size_t first = static_cast<size_t>(r * (r + 1) / 2);  // index in rank order of r's first column
    for (size_t c = 0; c <= static_cast<size_t>(r); ++c, ++col)
      for (size_t k = 0; k < d; ++k) dc_all.at(col, k) = static_cast<float>((me + 1) * (first + c));
  }
  ex.reduce_candidate_gradient(dc_all, mine);
  REQUIRE(mine.rows() == n);
  const size_t my_first = static_cast<size_t>(me * (me + 1) / 2);
  for (size_t c = 0; c < n; ++c)
    for (size_t k = 0; k < d; ++k) CHECK(mine.at(c, k) == static_cast<float>(total * (my_first + c)));
}

TEST_CASE("a rank with no rows in a step still takes part") {
  dist::Communicator comm = world();
  dist::MpiExchange ex(comm);
  Matrix e(comm.rank() == 0 ? 0 : 2, 4);
  e.zero();
  std::vector<float> mult(e.rows(), 1.0f);
  GatheredCandidates all;
  ex.gather_candidates(StepCandidates{&e, {}, {}, mult}, all);
  CHECK(all.embeddings.rows() == 2 * static_cast<size_t>(comm.size() - 1));
  CHECK(all.multiplicity.size() == all.embeddings.rows());
}

TEST_CASE("gradients: dense all-reduced, embedding tables by touched rows, the same on every rank") {
  dist::Communicator comm = world();
  dist::MpiExchange ex(comm);
  const int me = comm.rank();
  Parameter dense("dense", 2, 2, false), table("table", 6, 2, true);
  for (size_t i = 0; i < 4; ++i) dense.grad.data()[i] = static_cast<float>((me + 1) * (i + 1));
  // Rank r touches rows r + 1 and r + 2 with r + 1 in every entry.
  for (int32_t row : {me + 1, me + 2}) {
    float* g = table.grad_row(row);
    g[0] = g[1] = static_cast<float>(me + 1);
  }
  std::vector<Parameter*> params{&dense, &table};
  ex.reduce_gradients(params);
  const int ranks = comm.size();
  for (size_t i = 0; i < 4; ++i) CHECK(dense.grad.data()[i] == static_cast<float>(ranks * (ranks + 1) / 2 * (i + 1)));
  for (int32_t row = 0; row < 6; ++row) {
    float want = 0.0f;
    for (int r = 0; r < ranks; ++r)
      if (row == r + 1 || row == r + 2) want += static_cast<float>(r + 1);
    CHECK(table.grad.at(static_cast<size_t>(row), 0) == want);
    CHECK(table.grad.at(static_cast<size_t>(row), 1) == want);
    CHECK(static_cast<bool>(table.is_touched[static_cast<size_t>(row)]) == (want != 0.0f));
  }
  CHECK(table.touched.size() == static_cast<size_t>(ranks + 1));
  CHECK(ex.bytes_sent() > 0);
  // Equal weights pass the check; a rank whose weights drifted is named.
  ex.check_same_weights(params);
  if (me == 1) dense.value.data()[0] = 1.0f;
  CHECK_THROWS_WITH_AS(ex.check_same_weights(params), doctest::Contains("rank 1's weights differ from rank 0's"),
                       tt::Error);
}

TEST_CASE("metrics: hit counts summed over the ranks") {
  dist::Communicator comm = world();
  dist::MpiExchange ex(comm);
  // Rank r: 4 examples, r + 1 hits at k=10 (rank 0: 1/4, rank 1: 2/4).
  TopKMetrics m;
  m.k = {10};
  m.examples = 4;
  m.accuracy = {static_cast<double>(comm.rank() + 1) / 4.0};
  ex.reduce_metrics(m);
  const int ranks = comm.size();
  CHECK(m.examples == 4 * static_cast<size_t>(ranks));
  CHECK(m.accuracy[0] == doctest::Approx(static_cast<double>(ranks * (ranks + 1) / 2) / (4.0 * ranks)));
}

TEST_CASE("ranks that disagree about the spec or the data schema fail naming the rank and the difference") {
  dist::Communicator comm = world();
  ModelSpec spec;
  Dataset data;
  data.interactions.add(Column("user_id", std::vector<std::string>{"a", "b"}));
  data.candidates.add(Column("movie_title", std::vector<std::string>{"x"}));
  // The same everywhere: passes.
  CHECK_NOTHROW(dist::check_agreement(comm, dist::run_description(spec, data)));
  // Rank 1 has another batch size: every rank fails, naming rank 1, the field and both values.
  ModelSpec other = spec;
  if (comm.rank() == 1) other.training.batch_size = 1024;
  CHECK_THROWS_WITH_AS(dist::check_agreement(comm, dist::run_description(other, data)),
                       doctest::Contains("rank 1 disagrees with rank 0: /spec/training/batch_size is 1024 on rank 1, "
                                         "2048 on rank 0"),
                       tt::Error);
  // Rank 1's interactions have a column more.
  Dataset more = data;
  if (comm.rank() == 1) more.interactions.add(Column("rating", std::vector<int64_t>{4, 5}));
  CHECK_THROWS_WITH_AS(dist::check_agreement(comm, dist::run_description(spec, more)),
                       doctest::Contains("rank 1 disagrees with rank 0: /interactions/columns/rating is \"int64\" on "
                                         "rank 1, absent on rank 0"),
                       tt::Error);
}

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  doctest::Context context(argc, argv);
  const int failed = context.run();
  // The job fails if any rank failed.
  int worst = 0;
  MPI_Allreduce(&failed, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return worst;
}
