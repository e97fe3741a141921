//! End to end on MovieLens 100k: the TFRS [32] model (samples/movielens/deep-32.json), two
//! epochs. Skipped without the data, except under CI=true.
mod common;

use std::ops::ControlFlow;

use common::*;
use twotower::{load_movielens, Model, QueryOptions, Table, TrainOptions};

#[test]
fn movielens_deep_32_trains_saves_loads_and_serves() {
    let Some(dir) = movielens_dir() else { return };
    let (ratings, movies) = load_movielens(&dir).unwrap();
    assert_eq!(ratings.num_rows().unwrap(), 100_000);
    assert_eq!(movies.num_rows().unwrap(), 1682);

    let mut model = Model::from_spec_file(repo_root().join("samples/movielens/deep-32.json")).unwrap();
    let mut evaluated = Vec::new();
    let metrics = model
        .train(
            &ratings,
            &movies,
            TrainOptions::new().epochs(2).progress(|p| {
                if let Some(m) = &p.metrics {
                    evaluated.push(m.clone());
                }
                ControlFlow::Continue(())
            }),
        )
        .unwrap();
    assert_eq!(metrics.top_k.iter().map(|(k, _)| *k).collect::<Vec<_>>(), [1, 5, 10, 50, 100]);
    assert_eq!(metrics.examples, 20_000);
    assert!(metrics.accuracy(100).unwrap() > 0.15, "{metrics:?}");
    assert_eq!(evaluated.last(), Some(&metrics));

    let query = Table::builder().strings("user_id", &["42"]).int64("timestamp", &[879024327]).build().unwrap();
    let top = model.query(&query, 10).unwrap();
    assert_eq!(top[0].len(), 10);
    let titles: Vec<&str> = top[0].iter().map(|h| model.candidate_key(h.id).unwrap()).collect();
    assert!(titles.iter().all(|t| !t.is_empty()));

    let dir_out = temp_dir("movielens");
    let path = dir_out.join("ml.tt");
    model.save(&path).unwrap();
    let loaded = Model::load(&path).unwrap();
    assert_eq!(loaded.query(&query, 10).unwrap(), top, "bit-identical after a round trip");
    for title in &titles {
        let id = loaded.candidate_id(title).unwrap().expect("a served title is a candidate");
        assert_eq!(loaded.candidate_key(id).unwrap(), *title);
    }
    let rated: Vec<i64> = top[0][..3].iter().map(|h| h.id).collect();
    // Leave out the first three, as if the user had rated them.
    let rest = loaded.query_with(&query, &QueryOptions::new(10).exclude(&[&rated])).unwrap();
    assert!(rest[0].iter().all(|h| !rated.contains(&h.id)));
    assert_eq!(rest[0][0], top[0][3]);
    std::fs::remove_dir_all(dir_out).unwrap();
}

/// MovieLens's side files: u.user's occupation and age in the query tower, u.item's genres (a
/// multi-valued feature) and release year in the candidate tower, one epoch; the model file keeps
/// the genre vocabulary, and queries carry the user's side columns.
#[test]
fn movielens_side_features_and_multi_valued_genres() {
    let Some(dir) = movielens_dir() else { return };
    let (ratings, movies) = load_movielens(&dir).unwrap();
    let spec = r#"{
      "name": "movielens-side-features",
      "query_tower": {"features": [
        {"name": "user_id", "column": "user_id", "kind": "string_lookup", "embedding_dim": 32},
        {"name": "timestamp_normalized", "column": "timestamp", "kind": "normalization"},
        {"name": "occupation", "column": "user_occupation", "kind": "string_lookup", "embedding_dim": 8},
        {"name": "age", "column": "user_age", "kind": "discretization", "boundaries": [18, 25, 35, 45, 50, 56],
         "embedding_dim": 4}],
        "layers": [32]},
      "candidate_tower": {"id_column": "movie_title", "features": [
        {"name": "title_id", "column": "movie_title", "kind": "string_lookup", "embedding_dim": 32},
        {"name": "genres", "column": "movie_genres", "kind": "multi_value_lookup", "pooling": "sum",
         "embedding_dim": 8},
        {"name": "year", "column": "movie_year", "kind": "string_lookup", "embedding_dim": 4}],
        "layers": [32]},
      "task": {"sampling_probability": "counts"},
      "training": {"optimizer": {"kind": "adagrad", "learning_rate": 0.1, "weight_decay": 0.001}, "epochs": 1}
    }"#;
    let mut model = Model::from_spec_json(spec).unwrap();
    let metrics = model.train(&ratings, &movies, TrainOptions::new()).unwrap();
    assert_eq!(metrics.examples, 20_000);
    // One epoch with the logQ correction already beats the most-popular list at top-100.
    let top100 = metrics.accuracy(100).unwrap();
    assert!(top100 > metrics.baseline[4] && top100 > 0.3, "{metrics:?}");

    let query = Table::builder()
        .strings("user_id", &["42"])
        .int64("timestamp", &[879024327])
        .strings("user_occupation", &["writer"])
        .int64("user_age", &[30])
        .build()
        .unwrap();
    let top = model.query(&query, 10).unwrap();
    let dir_out = temp_dir("movielens-side");
    let path = dir_out.join("ml-side.tt");
    model.save(&path).unwrap();
    let loaded = Model::load(&path).unwrap();
    assert_eq!(loaded.query(&query, 10).unwrap(), top, "bit-identical after a round trip");
    // A query without the side columns is refused, naming the missing column.
    let plain = Table::builder().strings("user_id", &["42"]).int64("timestamp", &[879024327]).build().unwrap();
    let err = model.query(&plain, 10).unwrap_err();
    assert!(err.to_string().contains("user_occupation"), "{err}");
    std::fs::remove_dir_all(dir_out).unwrap();
}
