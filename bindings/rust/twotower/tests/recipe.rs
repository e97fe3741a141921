//! The recipe's options (estimated logQ, mixed negatives, validation rows, early stopping) are
//! spec fields; every evaluation carries the most-popular baseline. data.history builds each
//! user's earlier items as a query feature.
mod common;

use common::*;
use std::collections::HashMap;
use twotower::{Hit, Model, Status, Table, TrainOptions};

#[test]
fn recipe_options_and_most_popular_baseline() {
    let spec = SPEC
        .replace(
            r#""training": {"batch_size": 64, "epochs": 4, "eval_every": 2, "seed": 7},"#,
            r#""task": {"sampling_probability": "counts", "uniform_negatives": 8},
  "training": {"batch_size": 64, "epochs": 6, "eval_every": 1, "seed": 7, "patience": 2, "early_stopping_k": 10},"#,
        )
        .replace(r#""split_seed": 1}"#, r#""split_seed": 1, "validation_rows": 100}"#);
    assert_ne!(spec, SPEC);
    let (interactions, candidates) = synthetic_tables();
    let mut model = Model::from_spec_json(&spec).unwrap();
    let metrics = model.train(&interactions, &candidates, TrainOptions::new().threads(1)).unwrap();
    assert_eq!(metrics.baseline.len(), 3, "{metrics:?}");
    let popular10 = metrics.baseline[2];
    assert!(popular10 < 0.6 && metrics.accuracy(10).unwrap() > popular10, "{metrics:?}");
    for k in metrics.not_beating_baseline() {
        let i = metrics.top_k.iter().position(|(kk, _)| *kk == k).unwrap();
        assert!(metrics.top_k[i].1 <= metrics.baseline[i]);
    }
    let again = model.evaluate(&interactions, &candidates, false).unwrap();
    assert_eq!(again.baseline.len(), 3, "{again:?}");
}

/// SPEC with data.history (each user's 10 most recent earlier items) read by a
/// multi_value_lookup query feature; `user_column` is the history's user column.
fn history_spec(user_column: &str) -> String {
    let spec = SPEC
        .replace(
            r#""kind": "normalization"}"#,
            r#""kind": "normalization"},
      {"name": "history", "column": "watched", "kind": "multi_value_lookup", "embedding_dim": 8}"#,
        )
        .replace(
            r#""split_seed": 1}"#,
            &format!(
                r#""split_seed": 1,
    "history": {{"column": "watched", "user_column": "{user_column}", "time_column": "timestamp", "max_items": 10}}}}"#
            ),
        );
    assert_eq!(spec.matches("watched").count(), 2, "{spec}");
    spec
}

/// The interactions with each row's history as data.history builds it (rows in time order).
fn interactions_with_history(max_items: usize) -> Table {
    let c = synthetic_columns();
    let mut seen: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut watched = vec![];
    for (user, item) in c.users.iter().zip(&c.items) {
        let h = seen.entry(user).or_default();
        watched.push(h[h.len().saturating_sub(max_items)..].join("|"));
        h.push(item);
    }
    Table::builder()
        .strings("user_id", &c.users)
        .int64("timestamp", &c.stamps)
        .strings("item_id", &c.items)
        .strings("title", &c.titles)
        .strings("watched", &watched)
        .build()
        .unwrap()
}

/// Queries of `users` at the first training time with these histories.
fn query_watched(model: &Model, users: &[&str], histories: &[String], k: usize) -> Vec<Vec<Hit>> {
    let stamps = vec![1_000_000i64; users.len()];
    let users: Vec<String> = users.iter().map(|u| u.to_string()).collect();
    let q = Table::builder()
        .strings("user_id", &users)
        .int64("timestamp", &stamps)
        .strings("watched", histories)
        .build()
        .unwrap();
    model.query(&q, k).unwrap()
}

#[test]
fn recipe_options_watch_history() {
    let (interactions, candidates) = synthetic_tables();
    let mut model = Model::from_spec_json(&history_spec("user_id")).unwrap();
    let metrics = model.train(&interactions, &candidates, TrainOptions::new().threads(1)).unwrap();
    assert!(metrics.accuracy(10).unwrap() > 0.9, "{metrics:?}");
    // Evaluation reads the query columns it is given: the history column too.
    let err = model.evaluate(&interactions, &candidates, false).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().contains("'watched'"), "{err}");
    let again = model.evaluate(&interactions_with_history(10), &candidates, false).unwrap();
    assert!(again.examples == ROWS as u64 && again.accuracy(10).unwrap() > 0.9, "{again:?}");
    assert_eq!(again.baseline.len(), 3);
    // An unknown user: only the history tells the group, and its items lead (24 = 80% of 5 x 6).
    let histories: Vec<String> = (0..5).map(|g| format!("i{}|i{}", 6 * g, 6 * g + 1)).collect();
    let hits = query_watched(&model, &["nobody"; 5], &histories, 6);
    let in_group: usize =
        hits.iter().enumerate().map(|(g, r)| r.iter().filter(|h| h.id as usize / 6 == g).count()).sum();
    assert!(in_group >= 24, "{in_group} of 30 in the history's group: {hits:?}");
    // The same user with another history: other scores.
    let hits = query_watched(&model, &["u0", "u0"], &["i0|i1".to_string(), "i6|i7".to_string()], ITEMS);
    let scores = |r: &Vec<Hit>| r.iter().map(|h| h.score).collect::<Vec<_>>();
    assert_ne!(scores(&hits[0]), scores(&hits[1]));
}

#[test]
fn recipe_options_watch_history_missing_column() {
    let (interactions, candidates) = synthetic_tables();
    let mut model = Model::from_spec_json(&history_spec("nope")).unwrap();
    let err = model.train(&interactions, &candidates, TrainOptions::new().threads(1)).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().contains("data.history.user_column: the interactions have no column 'nope'"), "{err}");
}
