// A row-major float matrix in 64-byte-aligned storage. resize() keeps its capacity, so the
// training loop reuses buffers instead of allocating each step.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <span>
#include <vector>

#include "base/checked_math.h"

namespace tt {

template <class T, size_t Align = 64>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U, Align>&) {}
  template <class U>
  struct rebind {
    using other = AlignedAllocator<U, Align>;
  };
  T* allocate(size_t n) {
    if (n > (SIZE_MAX - Align) / sizeof(T)) throw std::bad_alloc();
    size_t bytes = (n * sizeof(T) + Align - 1) / Align * Align;
    void* p = std::aligned_alloc(Align, bytes ? bytes : Align);
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { std::free(p); }
  bool operator==(const AlignedAllocator&) const { return true; }
};

class Matrix {
 public:
  Matrix() = default;
  Matrix(size_t rows, size_t cols) { resize(rows, cols); }

  void resize(size_t rows, size_t cols) {
    data_.resize(checked_mul(rows, cols, "matrix rows x columns"));
    rows_ = rows;
    cols_ = cols;
  }
  void zero() {
    if (!data_.empty()) std::memset(data_.data(), 0, data_.size() * sizeof(float));
  }

  size_t rows() const { return rows_; }
  size_t cols() const { return cols_; }
  size_t size() const { return data_.size(); }
  float* data() { return data_.data(); }
  const float* data() const { return data_.data(); }
  float* row(size_t r) { return data_.data() + r * cols_; }
  const float* row(size_t r) const { return data_.data() + r * cols_; }
  float& at(size_t r, size_t c) { return data_[r * cols_ + c]; }
  float at(size_t r, size_t c) const { return data_[r * cols_ + c]; }
  std::span<float> span() { return {data_.data(), data_.size()}; }
  std::span<const float> span() const { return {data_.data(), data_.size()}; }

 private:
  size_t rows_ = 0, cols_ = 0;
  std::vector<float, AlignedAllocator<float>> data_;
};

}  // namespace tt
