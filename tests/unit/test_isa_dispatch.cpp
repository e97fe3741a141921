// CPU dispatch (base/cpu_isa.h): the level resolution, the TWOTOWER_MAX_ISA cap, and the
// kernels' builds compared across every level the machine has: the AVX2 and AVX-512 builds give
// the same bits, the baseline build the same bits wherever no multiply-add is involved.
#include <doctest/doctest.h>
#include <oneapi/dnnl/dnnl.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "base/cpu_isa.h"
#include "base/parallel.h"
#include "base/random.h"
#include "index/candidate_index.h"
#include "index/compact_scan.h"
#include "index/float_scan.h"
#include "isa_test_support.h"
#include "nn/gemm.h"
#include "nn/row_kernels.h"

using namespace tt;

namespace {

// Every output of every kernel for one input, as raw bits (NaN-safe comparison).
using Outputs = std::map<std::string, std::vector<uint32_t>>;

void put(Outputs& o, const std::string& name, const float* x, size_t n) {
  auto& v = o[name];
  for (size_t i = 0; i < n; ++i) {
    uint32_t b;
    std::memcpy(&b, x + i, 4);
    v.push_back(b);
  }
}
void put(Outputs& o, const std::string& name, float x) { put(o, name, &x, 1); }
void put_count(Outputs& o, const std::string& name, size_t x) { o[name].push_back(static_cast<uint32_t>(x)); }

const size_t kLengths[] = {0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 100, 2049};

Outputs row_kernel_outputs() {
  Outputs o;
  Rng rng(91);
  for (size_t n : kLengths) {
    const std::string at = "@" + std::to_string(n);
    std::vector<float> x(n), bias(n), y(n);
    for (size_t j = 0; j < n; ++j) {
      x[j] = rng.uniform(-90.0f, 5.0f);
      bias[j] = rng.uniform(-3.0f, 3.0f);
      y[j] = rng.uniform(-10.0f, 10.0f);
    }
    for (size_t j = 2; j < n; j += 9) x[j] = -std::numeric_limits<float>::infinity();
    put(o, "row_max" + at, row_max(x.data(), n));
    put(o, "row_max_plus" + at, row_max_plus(x.data(), bias.data(), n));
    std::vector<float> e = x;
    put(o, "row_exp_sum" + at, row_exp_sum(e.data(), n, 1.5f));
    put(o, "row_exp_sum values" + at, e.data(), n);
    std::vector<float> eb = x;
    put(o, "row_exp_sum_plus" + at, row_exp_sum_plus(eb.data(), bias.data(), n, 0.5f));
    put(o, "row_exp_sum_plus values" + at, eb.data(), n);
    std::vector<float> dv = y, ad = y;
    row_divide(dv.data(), n, 3.0f);
    row_add(ad.data(), bias.data(), n);
    put(o, "row_divide" + at, dv.data(), n);
    put(o, "row_add" + at, ad.data(), n);
    put_count(o, "row_count_greater" + at, row_count_greater(y.data(), n, 1.0f));
    std::vector<uint32_t> sel(n + 1);
    const size_t m = row_select_greater(y.data(), n, 2.0f, sel.data());
    o["row_select_greater" + at].assign(sel.begin(), sel.begin() + static_cast<long>(m));
    std::vector<uint16_t> h(n);
    for (auto& v : h) v = static_cast<uint16_t>(rng.below(65536));
    std::vector<float> hf(n);
    bf16_to_float_n(h.data(), n, hf.data());
    put(o, "bf16_to_float_n" + at, hf.data(), n);
    std::vector<int8_t> q8(3 * n);
    for (auto& v : q8) v = static_cast<int8_t>(static_cast<int>(rng.below(256)) - 128);
    const float scales[3] = {0.01f, 1.0f / 127.0f, 3.5f};
    std::vector<float> qf(3 * n);
    int8_to_float_rows(q8.data(), scales, 3, n, qf.data());
    put(o, "int8_to_float_rows" + at, qf.data(), 3 * n);
    // Adagrad on n rows of 19 columns (16 + 3: both vector widths and the scalar tail), every
    // other row listed.
    std::vector<float> w(19 * n), g(19 * n), acc(19 * n);
    for (size_t i = 0; i < w.size(); ++i) {
      w[i] = rng.uniform(-1.0f, 1.0f);
      g[i] = rng.uniform(-2.0f, 2.0f);
      acc[i] = rng.uniform(0.1f, 3.0f);
    }
    std::vector<int32_t> listed;
    for (size_t r = 0; r < n; r += 2) listed.push_back(static_cast<int32_t>(r));
    adagrad_rows(w.data(), g.data(), acc.data(), 19, listed.data(), listed.size(), 0.05f, 1e-7f);
    put(o, "adagrad_rows w" + at, w.data(), w.size());
    put(o, "adagrad_rows acc" + at, acc.data(), acc.size());
  }
  for (float v : {-87.0f, -10.0f, -0.3f, 0.0f, 0.7f, 20.0f}) put(o, "fast_exp", fast_exp(v));
  return o;
}

// The kernels whose results involve products and sums, which FMA rounds once (AVX2, AVX-512)
// and the baseline build twice.
bool fused(const std::string& name) { return name.find("exp") != std::string::npos || name.find("scan") == 0; }

// bf16, int8 and float32 scans of `nq` queries over n candidates of dimension d.
Outputs scan_outputs() {
  Outputs o;
  Rng rng(92);
  for (size_t d : {1, 5, 16, 33})
    for (size_t n : {1, 16, 17, 83}) {
      const size_t groups = (n + kScanGroup - 1) / kScanGroup, ld = groups * kScanGroup;
      std::vector<float> c(n * d), q(9 * d);
      for (auto& v : c) v = rng.uniform(-1.0f, 1.0f);
      for (auto& v : q) v = rng.uniform(-1.0f, 1.0f);
      std::vector<uint16_t> rows16(n * d), packed16(ld * d);
      std::vector<int8_t> rows8(n * d), packed8(ld * d);
      std::vector<float> scales(ld, 0.0f);
      for (size_t i = 0; i < n * d; ++i) {
        uint32_t bits;
        std::memcpy(&bits, &c[i], 4);
        rows16[i] = static_cast<uint16_t>(bits >> 16);
        rows8[i] = static_cast<int8_t>(std::lround(c[i] * 127.0f));
      }
      for (size_t j = 0; j < n; ++j) scales[j] = 1.0f / 127.0f + 0.001f * static_cast<float>(j);
      pack_groups_u16(rows16.data(), n, d, packed16.data());
      pack_groups_i8(rows8.data(), n, d, packed8.data());
      {
        // The 4-bit scan: exact integer sums, so the same bits at every level and the formula
        // of compact_scan.h exactly (named so that compare_levels wants equal bits).
        const size_t octets = octets_of(d);
        std::vector<int8_t> rows4(n * d);
        for (size_t i = 0; i < n * d; ++i) rows4[i] = static_cast<int8_t>(std::lround(c[i] * 7.0f));
        std::vector<uint8_t> packed4(ld * octets * 4);
        pack_groups_u4(rows4.data(), n, d, packed4.data());
        std::vector<int8_t> q8(octets * kOctet, 0);
        for (size_t e = 0; e < d; ++e) q8[e] = static_cast<int8_t>(static_cast<int>(rng.below(255)) - 127);
        std::vector<float> s(ld);
        scan_u4(packed4.data(), scales.data(), groups, octets, q8.data(), 0.0123f, s.data());
        for (size_t j = 0; j < n; ++j) {
          int32_t dot = 0;
          for (size_t e = 0; e < d; ++e) dot += int32_t{rows4[j * d + e]} * q8[e];
          CHECK(s[j] == static_cast<float>(dot) * (scales[j] * 0.0123f));
        }
        put(o, "u4_dot@" + std::to_string(d) + "x" + std::to_string(n), s.data(), s.size());
      }
      for (size_t nq = 1; nq <= 9; ++nq) {
        const std::string at = "@" + std::to_string(d) + "x" + std::to_string(n) + "q" + std::to_string(nq);
        std::vector<float> s(nq * ld);
        scan_bf16(packed16.data(), groups, d, q.data(), nq, s.data(), ld);
        put(o, "scan_bf16" + at, s.data(), s.size());
        scan_int8(packed8.data(), scales.data(), groups, d, q.data(), nq, s.data(), ld);
        put(o, "scan_int8" + at, s.data(), s.size());
        if (nq <= kFloatScanMaxQueries) {
          scan_float_rows(c.data(), n, d, q.data(), nq, s.data(), n);
          put(o, "scan_float_rows" + at, s.data(), nq * n);
        }
      }
    }
  return o;
}

float as_float(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

// at: outputs per level (index = level). AVX2 and AVX-512 agree bit for bit everywhere; the
// baseline build agrees bit for bit on the unfused kernels and within a few ulp on the others.
void compare_levels(const std::vector<Outputs>& at) {
  REQUIRE(!at.empty());
  for (size_t l = 1; l < at.size(); ++l) {
    const Isa level = static_cast<Isa>(l);
    INFO("level ", std::string(isa_name(level)));
    for (const auto& [name, want] : at[0]) {
      CAPTURE(name);
      const auto& got = at[l].at(name);
      REQUIRE(got.size() == want.size());
      if (level == Isa::avx512 && at.size() > 2) {
        CHECK(got == at[1].at(name));  // the AVX2 build's bits
      }
      if (!fused(name) || name.find("count") != std::string::npos) {
        CHECK(got == want);
        continue;
      }
      for (size_t i = 0; i < want.size(); ++i) {
        const float a = as_float(want[i]), b = as_float(got[i]);
        if (a == b || (std::isnan(a) && std::isnan(b))) continue;
        CAPTURE(i);
        CHECK(std::fabs(a - b) <= 1e-5f * (1.0f + std::fabs(a)));
      }
    }
  }
}

}  // namespace

TEST_CASE("isa: the level is resolved from the CPU and TWOTOWER_MAX_ISA, and the test hook caps it") {
  Isa level;
  for (const char* s : {"baseline", "BASELINE", "default", "sse2", "x86-64"}) {
    CAPTURE(s);
    REQUIRE(parse_isa(s, level));
    CHECK(level == Isa::baseline);
  }
  for (const char* s : {"avx2", "AVX2", "x86-64-v3"}) {
    CAPTURE(s);
    REQUIRE(parse_isa(s, level));
    CHECK(level == Isa::avx2);
  }
  for (const char* s : {"avx512", "AVX512_CORE", "x86-64-v4"}) {
    CAPTURE(s);
    REQUIRE(parse_isa(s, level));
    CHECK(level == Isa::avx512);
  }
  for (const char* s : {"", "avx", "avx-512", "sse4.1", "avx2 "}) CHECK_FALSE(parse_isa(s, level));
  CHECK(std::string(isa_name(Isa::avx512)) == "avx512");

  CHECK(isa_allowed() <= isa_supported());
  CHECK(active_isa() == isa_allowed());
  CHECK(isa_report().rfind(isa_name(active_isa()), 0) == 0);
  std::vector<Isa> visited;
  isatest::for_each_isa([&](Isa l) {
    visited.push_back(l);
    CHECK(std::string(isa_report()).rfind(isa_name(l), 0) == 0);
  });
  REQUIRE(!visited.empty());
  CHECK(visited.front() == Isa::baseline);
  CHECK(visited.back() == isa_allowed());
  CHECK(active_isa() == isa_allowed());  // restored
  {
    IsaCapScope cap(Isa::baseline);
    CHECK(active_isa() == Isa::baseline);
  }
  CHECK(active_isa() == isa_allowed());
#if defined(__x86_64__)
  // Every x86-64 machine this runs on in CI and in the sessions has AVX2 and FMA.
  MESSAGE("kernels: ", isa_report(), "; oneDNN: ", std::string(gemm_cpu_isa()));
#endif
}

// Run by CTest as unit.isa_forced_avx2 with TWOTOWER_MAX_ISA=avx2 and DNNL_MAX_CPU_ISA=AVX2:
// fails if the variables do not take effect (on a machine with more than AVX2).
TEST_CASE("isa: TWOTOWER_MAX_ISA and DNNL_MAX_CPU_ISA cap the levels in use") {
  const char* text = std::getenv("TWOTOWER_MAX_ISA");
  if (!text) {
    MESSAGE("TWOTOWER_MAX_ISA is not set: nothing to check (CTest runs this again with it set)");
    return;
  }
  Isa cap;
  REQUIRE_MESSAGE(parse_isa(text, cap), "this test expects a valid TWOTOWER_MAX_ISA, got ", text);
  const Isa want = cap < isa_supported() ? cap : isa_supported();
  CHECK(isa_allowed() == want);
  CHECK(active_isa() == want);
  CHECK(isa_report().find(std::string("TWOTOWER_MAX_ISA=") + text) != std::string::npos);
  if (const char* dnnl = std::getenv("DNNL_MAX_CPU_ISA"); dnnl && std::string(dnnl) == "AVX2") {
    const dnnl_cpu_isa_t got = dnnl_get_effective_cpu_isa();
    CAPTURE(gemm_cpu_isa());
    CHECK((got & ~dnnl_cpu_isa_avx2) == 0);  // AVX2 or a subset of it
  }
}

TEST_CASE("isa: the row kernels give the same bits at AVX2 and AVX-512, and baseline's within rounding") {
  std::vector<Outputs> at;
  isatest::for_each_isa([&](Isa) { at.push_back(row_kernel_outputs()); });
  compare_levels(at);
}

TEST_CASE("isa: the index scans give the same bits at AVX2 and AVX-512, and baseline's within rounding") {
  std::vector<Outputs> at;
  isatest::for_each_isa([&](Isa) { at.push_back(scan_outputs()); });
  compare_levels(at);
}

TEST_CASE("isa: compact-scan searches return the same ids and scores at every level") {
  // The shortlist is re-scored in float32 by code outside the per-level builds, so the results
  // cannot depend on the level even where the approximate scores do (baseline's).
  Rng rng(93);
  const size_t n = 5003, d = 24;
  Matrix e(n, d);
  for (float& v : e.span()) v = std::floor(rng.uniform(-4.0f, 4.0f)) / 8.0f;  // many ties
  std::vector<std::string> keys(n);
  for (size_t i = 0; i < n; ++i) keys[i] = std::to_string(i);
  CandidateIndex idx(std::move(keys), std::move(e));
  Matrix q(3, d);
  for (float& v : q.span()) v = rng.uniform(-1.0f, 1.0f);
  ThreadPool pool(2);
  SearchOptions so;
  so.k = 40;
  for (Precision p : {Precision::f32, Precision::bf16, Precision::int8}) {
    INFO("precision ", std::string(precision_name(p)));
    idx.set_scan_precision(p);
    std::vector<std::vector<int64_t>> ids;
    std::vector<std::vector<float>> scores;
    isatest::for_each_isa([&](Isa) {
      ids.emplace_back(q.rows() * so.k);
      scores.emplace_back(q.rows() * so.k);
      idx.search(q.data(), q.rows(), so, ids.back().data(), scores.back().data(), pool);
    });
    // float32 scores come straight from the scan, which fuses its multiply-adds above baseline:
    // there only AVX2 and AVX-512 must agree.
    const size_t first = p == Precision::f32 ? 1 : 0;
    for (size_t l = first + 1; l < ids.size(); ++l) {
      INFO("level ", std::string(isa_name(static_cast<Isa>(l))));
      CHECK(ids[l] == ids[first]);
      CHECK(std::memcmp(scores[l].data(), scores[first].data(), scores[0].size() * sizeof(float)) == 0);
    }
  }
}
