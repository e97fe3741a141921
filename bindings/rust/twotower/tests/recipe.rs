//! The recipe's options (estimated logQ, mixed negatives, validation rows, early stopping) are
//! spec fields; every evaluation carries the most-popular baseline.
mod common;

use common::*;
use twotower::{Model, TrainOptions};

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
