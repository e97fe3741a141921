//! Issue 18, "small catalogues without overhead": the Rust binding's layer of
//! bench/bindings-latency.sh. Loads the raw float32 files the script wrote, builds a
//! `VectorIndex` with the library defaults and times `VectorIndex::search` one query at a time,
//! after `warm` untimed queries; prints `RESULT layer p50_ms p99_ms sum-of-top-keys`.
//!
//!     latency-rust DIR N D Q K WARM
use std::process::exit;
use std::time::Instant;

use twotower::{IndexOptions, QueryOptions, VectorIndex};

fn read_f32(path: &str, count: usize) -> Vec<f32> {
    let raw = std::fs::read(path).unwrap_or_else(|e| fail(&format!("{path}: {e}")));
    if raw.len() < count * 4 {
        fail(&format!("{path}: fewer than {count} floats"));
    }
    raw.chunks_exact(4).take(count).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

fn fail(message: &str) -> ! {
    eprintln!("latency-rust: {message}");
    exit(1)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 7 {
        fail("usage: latency-rust DIR N D Q K WARM");
    }
    let v: Vec<usize> =
        args[2..].iter().map(|a| a.parse().unwrap_or_else(|_| fail(&format!("not a count: {a}")))).collect();
    let (n, d, q, k, warm) = (v[0], v[1], v[2], v[3], v[4]);
    let base = read_f32(&format!("{}/base.f32", args[1]), n * d);
    let queries = read_f32(&format!("{}/queries.f32", args[1]), q * d);

    let mut index = VectorIndex::new(d, &IndexOptions::default()).unwrap_or_else(|e| fail(&e.to_string()));
    index.add(&base, d, None).unwrap_or_else(|e| fail(&e.to_string()));
    let opts = QueryOptions::new(k);
    let row = |i: usize| &queries[i * d..(i + 1) * d];
    for i in 0..warm {
        index.search(row(i % q), d, &opts).unwrap_or_else(|e| fail(&e.to_string()));
    }
    let mut ms = Vec::with_capacity(q);
    let mut top = 0i64;
    for i in 0..q {
        let t0 = Instant::now();
        let hits = index.search(row(i), d, &opts).unwrap_or_else(|e| fail(&e.to_string()));
        ms.push(t0.elapsed().as_secs_f64() * 1e3);
        top += hits[0][0].id;
    }
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("RESULT Rust {:.4} {:.4} {}", ms[q / 2], ms[q * 99 / 100], top);
}
