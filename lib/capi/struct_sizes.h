// The size of each growable C API struct's first version: the smallest struct_size the library
// accepts. A caller compiled against an older header passes that struct, and must keep working
// for as long as TT_ABI_VERSION stays (docs/c-api.md, "Growable structs"). A struct that has
// never grown is its own first version; one that has is measured to its first appended field.
#pragma once

#include <cstddef>

#include "twotower/twotower.h"

namespace tt::capi {

template <class T>
inline constexpr size_t kFirstSize = sizeof(T);

// has_baseline and baseline_accuracy were appended.
template <>
inline constexpr size_t kFirstSize<tt_metrics> = offsetof(tt_metrics, has_baseline);
// reset was appended.
template <>
inline constexpr size_t kFirstSize<tt_train_options> = offsetof(tt_train_options, reset);
// capacity, the approximate-search fields and the key lists were appended.
template <>
inline constexpr size_t kFirstSize<tt_query_options> = offsetof(tt_query_options, capacity);
// ann, ann_partitions, shard_index and shard_count were appended.
template <>
inline constexpr size_t kFirstSize<tt_convert_options> = offsetof(tt_convert_options, ann);
// tt_mpi_stats (appended: rows_held, rank_train_rows, rank_test_rows) is in capi/mpi_train.cpp,
// the one file that sees twotower_mpi.h.

}  // namespace tt::capi
