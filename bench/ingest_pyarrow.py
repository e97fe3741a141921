"""pyarrow's multithreaded CSV reader on the file bench_scale --ingest parses: the same three
int64 columns, the same thread count, best of 3. Benchmark peer only (bench/ingest.sh)."""
import os
import sys
import time

import pyarrow as pa
import pyarrow.csv as csv

path, threads = sys.argv[1], int(sys.argv[2])
pa.set_cpu_count(threads)
pa.set_io_thread_count(threads)
types = {"user_id": pa.int64(), "item_id": pa.int64(), "timestamp": pa.int64()}
best = float("inf")
rows = 0
for _ in range(3):
    t0 = time.perf_counter()
    table = csv.read_csv(path, read_options=csv.ReadOptions(use_threads=True),
                         convert_options=csv.ConvertOptions(column_types=types, include_columns=list(types)))
    best = min(best, time.perf_counter() - t0)
    rows = table.num_rows
mb = os.path.getsize(path) / 1e6
print(f"pyarrow {pa.__version__} threads={threads} rows={rows} MB={mb:.1f} best_s={best:.3f} MB/s={mb / best:.1f}")
