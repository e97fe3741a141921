//! Warm start, per-model threads, evaluation and load options (issue 15).
mod common;

use common::*;
use twotower::{EvalOptions, LoadOptions, Model, SaveOptions, Status, TrainOptions};

fn embeddings(model: &Model, candidates: &twotower::Table) -> Vec<f32> {
    let users: Vec<usize> = (0..USERS).collect();
    let mut out = model.embed_queries(&user_queries(&users)).unwrap().values;
    out.extend(model.embed_candidates(candidates).unwrap().values);
    out
}

#[test]
fn ten_plus_ten_epochs_through_a_file_equal_twenty() {
    let (interactions, candidates) = synthetic_tables();
    let train = |model: &mut Model, epochs: u32, reset: bool| {
        model.train(&interactions, &candidates, TrainOptions::new().epochs(epochs).threads(2).reset(reset)).unwrap();
    };
    let mut twenty = Model::from_spec_json(SPEC).unwrap();
    train(&mut twenty, 20, false);
    let mut ten = Model::from_spec_json(SPEC).unwrap();
    train(&mut ten, 10, false);
    let path = temp_dir("warm_start").join("ten.tt");
    ten.save_with(&path, &SaveOptions { include_optimizer: true, ..SaveOptions::default() }).unwrap();
    let mut resumed = Model::load_with(&path, &LoadOptions { threads: 2 }).unwrap();
    assert_eq!(resumed.threads().unwrap(), 2);
    assert_ne!(embeddings(&resumed, &candidates), embeddings(&twenty, &candidates));
    train(&mut resumed, 10, false);
    assert_eq!(embeddings(&resumed, &candidates), embeddings(&twenty, &candidates));

    // reset(true): 10 epochs from scratch.
    let mut again = Model::from_bytes(&ten.to_bytes().unwrap()).unwrap();
    train(&mut again, 10, true);
    assert_eq!(embeddings(&again, &candidates), embeddings(&ten, &candidates));
}

#[test]
fn threads_and_evaluation_options() {
    let (interactions, candidates) = synthetic_tables();
    let bytes = trained().0.to_bytes().unwrap();
    let mut model = Model::from_bytes_with(&bytes, &LoadOptions { threads: 1 }).unwrap();
    assert_eq!(model.threads().unwrap(), 1);
    model.set_threads(0).unwrap();
    assert!(model.threads().unwrap() >= 1);
    assert_eq!(model.set_threads(1000).unwrap_err().status(), Status::InvalidArgument);

    let metrics = model
        .evaluate_with(
            &interactions,
            &candidates,
            &EvalOptions { k: Some(vec![2, 30]), batch_size: 7, ..Default::default() },
        )
        .unwrap();
    assert_eq!(metrics.top_k.iter().map(|(k, _)| *k).collect::<Vec<_>>(), [2, 30]);
    assert_eq!(metrics.accuracy(30), Some(1.0));
    let plain = model.evaluate(&interactions, &candidates, false).unwrap();
    assert_eq!(plain.top_k.len(), 3);
    let err = model
        .evaluate_with(&interactions, &candidates, &EvalOptions { k: Some(vec![]), ..Default::default() })
        .unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().contains("k_count"), "{}", err.message());
}
