//! Shared by the integration tests: a small learnable synthetic problem (the twin of
//! tests/capi/synthetic.h and the Python binding's conftest), a model trained on it once, temp
//! directories and MovieLens lookup.
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use twotower::{Metrics, Model, Table, TrainOptions};

pub const USERS: usize = 40;
pub const ITEMS: usize = 30;
pub const ROWS: usize = 1200;

/// 40 users in 5 groups; each group interacts only with its own 6 of the 30 items.
pub const SPEC: &str = r#"{
  "name": "synthetic",
  "query_tower": {
    "features": [
      {"name": "user", "column": "user_id", "kind": "string_lookup", "embedding_dim": 8},
      {"name": "ts", "column": "timestamp", "kind": "normalization"}
    ],
    "layers": [16]
  },
  "candidate_tower": {
    "id_column": "item_id",
    "features": [
      {"name": "item", "column": "item_id", "kind": "string_lookup", "embedding_dim": 8},
      {"name": "title", "column": "title", "kind": "text", "max_tokens": 100, "embedding_dim": 8}
    ],
    "layers": [16]
  },
  "training": {"batch_size": 64, "epochs": 4, "eval_every": 2, "seed": 7},
  "data": {"train_rows": 1000, "test_rows": 200, "split_seed": 1},
  "evaluation": {"k": [1, 5, 10]}
}"#;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..").canonicalize().unwrap()
}

pub fn group_items(group: usize) -> Vec<String> {
    (0..6).map(|j| format!("i{}", group * 6 + j)).collect()
}

/// The interactions' columns (user_id, timestamp, item_id, title), in time order.
pub struct Columns {
    pub users: Vec<String>,
    pub stamps: Vec<i64>,
    pub items: Vec<String>,
    pub titles: Vec<String>,
}

pub fn synthetic_columns() -> Columns {
    let (mut users, mut stamps, mut items, mut titles) = (vec![], vec![], vec![], vec![]);
    for i in 0..ROWS {
        let u = i % USERS;
        let row = i / USERS;
        let item = (u % 5) * 6 + (row * 7 + u) % 6;
        users.push(format!("u{u}"));
        stamps.push(1_000_000 + 37 * i as i64);
        items.push(format!("i{item}"));
        titles.push(format!("item {item}"));
    }
    Columns { users, stamps, items, titles }
}

/// (interactions {user_id, timestamp, item_id, title}, candidates {item_id, title}).
pub fn synthetic_tables() -> (Table, Table) {
    let Columns { users, stamps, items, titles } = synthetic_columns();
    let interactions = Table::builder()
        .strings("user_id", &users)
        .int64("timestamp", &stamps)
        .strings("item_id", &items)
        .strings("title", &titles)
        .build()
        .unwrap();
    (interactions, catalogue((0..ITEMS).collect::<Vec<_>>().as_slice()))
}

/// A catalogue of these synthetic items.
pub fn catalogue(items: &[usize]) -> Table {
    let ids: Vec<String> = items.iter().map(|i| format!("i{i}")).collect();
    let titles: Vec<String> = items.iter().map(|i| format!("item {i}")).collect();
    Table::builder().strings("item_id", &ids).strings("title", &titles).build().unwrap()
}

pub fn user_queries(users: &[usize]) -> Table {
    let ids: Vec<String> = users.iter().map(|u| format!("u{u}")).collect();
    let stamps: Vec<i64> = users.iter().map(|&u| 1_000_000 + 37 * u as i64).collect();
    Table::builder().strings("user_id", &ids).int64("timestamp", &stamps).build().unwrap()
}

/// A model trained on the synthetic data for 8 epochs, shared by the read-only tests.
pub fn trained() -> &'static (Model, Metrics) {
    static TRAINED: OnceLock<(Model, Metrics)> = OnceLock::new();
    TRAINED.get_or_init(|| {
        let (interactions, candidates) = synthetic_tables();
        let mut model = Model::from_spec_json(SPEC).unwrap();
        let metrics = model.train(&interactions, &candidates, TrainOptions::new().epochs(8).seed(3)).unwrap();
        (model, metrics)
    })
}

/// An empty directory of this test's own.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("twotower-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// MovieLens 100k: $TWOTOWER_DATA, else ../shared/data/ml-100k beside the repository. None
/// (the test skips) if absent, except under CI=true, where its absence fails the test.
pub fn movielens_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("TWOTOWER_DATA")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/data/ml-100k"));
    if dir.join("u.data").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "MovieLens 100k not found at {} (set TWOTOWER_DATA) and CI=true: these tests must run",
        dir.display()
    );
    eprintln!("skipped: MovieLens 100k not found at {} (set TWOTOWER_DATA)", dir.display());
    None
}
