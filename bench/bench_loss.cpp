// The fused in-batch softmax loss alone (scores GEMM, softmax, two gradient GEMMs) at the
// reference shape B = 2048, d = 32, for several row-block sizes and thread counts.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "base/parallel.h"
#include "base/random.h"
#include "bench_common.h"
#include "nn/init.h"
#include "nn/retrieval_loss.h"

using namespace tt;

int main(int argc, char** argv) {
  size_t b = 2048, d = 32, reps = 40;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--batch"))
      b = std::stoul(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--dim"))
      d = std::stoul(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--reps"))
      reps = std::stoul(argv[i + 1]);
  }
  Rng rng(1);
  Matrix q(b, d), c(b, d), dq, dc;
  uniform_fill(q, -0.3f, 0.3f, rng);
  uniform_fill(c, -0.3f, 0.3f, rng);
  RetrievalLossInputs in;
  in.queries = &q;
  in.candidates = &c;
  const double flops = 6.0 * b * b * d;
  tt::bench::print_isa();
  std::printf("B=%zu d=%zu, %zu steps each; GFLOP/s counts the three B x B x d GEMMs\n", b, d, reps);
  std::printf("%8s %11s %12s %10s\n", "threads", "block rows", "ms/step", "GFLOP/s");
  for (int threads : {1, 2}) {
    ThreadPool pool(threads);
    for (size_t block : {16, 32, 64, 128, 256}) {
      RetrievalLossWorkspace ws;
      ws.block_rows = block;
      retrieval_loss(in, {}, &dq, &dc, pool, ws);  // warm-up
      auto t0 = std::chrono::steady_clock::now();
      for (size_t r = 0; r < reps; ++r) retrieval_loss(in, {}, &dq, &dc, pool, ws);
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
      std::printf("%8d %11zu %12.3f %10.1f\n", threads, block, s * 1e3, flops / s / 1e9);
    }
  }
  return 0;
}
