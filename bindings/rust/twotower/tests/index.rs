//! Search by caller-supplied vectors: Model::query_vectors, and VectorIndex (add with and
//! without keys, search against a brute-force reference, key filters, save and load, int8,
//! the approximate index, a model file as an index) with the errors for bad input.
mod common;

use common::*;
use twotower::{Hit, IndexOptions, Precision, QueryOptions, SaveOptions, Status, VectorIndex};

fn ids(hits: &[Hit]) -> Vec<i64> {
    hits.iter().map(|h| h.id).collect()
}

/// A deterministic generator (no crate dependencies): values in [-1, 1).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn brute_force(x: &[f32], dim: usize, keys: &[i64], q: &[f32], k: usize) -> Vec<i64> {
    let mut scored: Vec<(f64, usize)> = x
        .chunks(dim)
        .enumerate()
        .map(|(i, row)| (row.iter().zip(q).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum(), i))
        .collect();
    scored.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap().then(a.1.cmp(&b.1)));
    scored.iter().take(k).map(|&(_, i)| keys[i]).collect()
}

fn expect_error<T: std::fmt::Debug>(r: twotower::Result<T>, needle: &str) {
    let e = r.expect_err("expected an error");
    assert_eq!(e.status(), Status::InvalidArgument, "{e}");
    assert!(e.to_string().contains(needle), "{e} does not mention {needle:?}");
}

#[test]
fn query_vectors_matches_query() {
    let model = &trained().0;
    let q = user_queries(&[0, 1, 2]);
    let emb = model.embed_queries(&q).unwrap();
    let want = model.query(&q, 5).unwrap();
    let got = model.query_vectors(&emb.values, emb.dim, &QueryOptions::new(5)).unwrap();
    assert_eq!(got, want);
    let exclude = [ids(&want[0])[..1].to_vec()];
    let filtered = model.query_vectors(emb.row(0), emb.dim, &QueryOptions::new(4).exclude(&exclude)).unwrap();
    assert_eq!(ids(&filtered[0]), ids(&want[0])[1..5]);
    assert!(model.query_vectors(&[], emb.dim, &QueryOptions::new(5)).unwrap().is_empty());
    expect_error(
        model.query_vectors(&emb.values[..8], 8, &QueryOptions::new(5)),
        "vectors: dim is 8; the model has 16",
    );
    let mut bad = emb.row(0).to_vec();
    bad[3] = f32::NAN;
    expect_error(model.query_vectors(&bad, emb.dim, &QueryOptions::new(5)), "row 0, column 3 is NaN");
    expect_error(model.query_vectors(&emb.values[..15], 16, &QueryOptions::new(5)), "not whole rows of dim 16");
    expect_error(model.query_vectors(emb.row(0), emb.dim, &QueryOptions::new(0)), "k is 0");
}

#[test]
fn vector_index_against_brute_force() {
    const N: usize = 250;
    const D: usize = 10;
    let x = values(N * D, 1);
    let queries = values(3 * D, 2);
    let keys: Vec<i64> = (0..N as i64).map(|i| -7_000_000_000 + 13 * i).collect();
    let mut index = VectorIndex::new(D, &IndexOptions::default()).unwrap();
    assert!(index.is_empty().unwrap());
    index.add(&x[..100 * D], D, Some(&keys[..100])).unwrap();
    index.add(&x[100 * D..], D, Some(&keys[100..])).unwrap();
    assert_eq!((index.len().unwrap(), index.dim().unwrap()), (N, D));
    assert_eq!(index.precision().unwrap(), Precision::Float32);
    let res = index.search(&queries, D, &QueryOptions::new(5)).unwrap();
    for (i, q) in queries.chunks(D).enumerate() {
        assert_eq!(ids(&res[i]), brute_force(&x, D, &keys, q, 5), "query {i}");
    }
    // Filters hold keys; an empty allow-list allows nothing.
    let first = ids(&res[0]);
    let exclude = [first[..1].to_vec()];
    let allow = first[..3].to_vec();
    let f = index.search(&queries[..D], D, &QueryOptions::new(3).exclude(&exclude).allow(&allow)).unwrap();
    assert_eq!(ids(&f[0]), first[1..3]);
    assert!(index.search(&queries[..D], D, &QueryOptions::new(3).allow(&[])).unwrap()[0].is_empty());

    // Save and load, as float32 and as int8; the approximate index.
    let dir = temp_dir("vector-index");
    let path = dir.join("idx.tt");
    index.save(&path, &SaveOptions::default()).unwrap();
    let back = VectorIndex::load(&path, &IndexOptions::default()).unwrap();
    assert_eq!(back.search(&queries, D, &QueryOptions::new(5)).unwrap(), res);
    let int8 = VectorIndex::load(&path, &IndexOptions { precision: Some(Precision::Int8), threads: 1 }).unwrap();
    assert_eq!(int8.precision().unwrap(), Precision::Int8);
    let top1 = int8.search(&queries, D, &QueryOptions::new(1)).unwrap();
    for i in 0..3 {
        assert_eq!(top1[i][0].id, res[i][0].id, "int8 top-1 of query {i}");
    }
    index.build_ann(8, 0, Some(&queries)).unwrap();
    let (partitions, probe) = index.ann_info(0.9).unwrap();
    assert!(partitions == 8 && (1..=8).contains(&probe));
    // The same keys; scores may differ in the last bits (another summation order).
    let full = index.search(&queries, D, &QueryOptions::new(5).probe(8).rescore(N)).unwrap();
    assert_eq!(full.iter().map(|r| ids(r)).collect::<Vec<_>>(), res.iter().map(|r| ids(r)).collect::<Vec<_>>());
    index.drop_ann().unwrap();
    assert_eq!(index.ann_info(0.9).unwrap(), (0, 0));
    // Without keys: row numbers.
    let far: Vec<f32> = queries[..D].iter().map(|v| 50.0 * v).collect();
    index.add(&far, D, None).unwrap();
    assert_eq!(index.search(&queries[..D], D, &QueryOptions::new(1)).unwrap()[0][0].id, N as i64);

    // Bad input.
    expect_error(index.add(&x[..9], 9, None), "dim is 9; the index has 10");
    expect_error(index.add(&x[..D], D, Some(&[-1])), "keys[0] is -1");
    expect_error(index.add(&x[..2 * D], D, Some(&[1])), "1 keys for 2 vectors");
    let mut inf = queries[..D].to_vec();
    inf[4] = f32::INFINITY;
    expect_error(index.search(&inf, D, &QueryOptions::new(1)), "row 0, column 4 is infinite");
    expect_error(VectorIndex::new(0, &IndexOptions::default()), "dim is 0");
    expect_error(VectorIndex::new(4, &IndexOptions { precision: None, threads: 1000 }), "tt_index_options.threads");
    let missing = VectorIndex::load(dir.join("missing.tt"), &IndexOptions::default());
    assert_eq!(missing.expect_err("a missing file loaded").status(), Status::Io);
}

/// A model file's index loads as a VectorIndex; the synthetic model's keys are text ("i3"),
/// so the index keys its rows by number: the model's candidate ids.
#[test]
fn model_file_as_index() {
    let model = &trained().0;
    let dir = temp_dir("vector-index-model");
    let path = dir.join("model.tt");
    model.save(&path).unwrap();
    let index = VectorIndex::load(&path, &IndexOptions::default()).unwrap();
    assert_eq!(index.len().unwrap(), model.num_candidates().unwrap());
    let emb = model.embed_queries(&user_queries(&[0, 7])).unwrap();
    let want = model.query_vectors(&emb.values, emb.dim, &QueryOptions::new(5)).unwrap();
    assert_eq!(index.search(&emb.values, emb.dim, &QueryOptions::new(5)).unwrap(), want);
    let ipath = dir.join("index.tt");
    index.save(&ipath, &SaveOptions::default()).unwrap();
    expect_error(twotower::Model::load(&ipath), "a vector index file");
}
