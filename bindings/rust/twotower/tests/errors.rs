//! Error paths: every one is an `Err` with the C status and a message naming what is wrong.
mod common;

use common::*;
use twotower::{load_movielens, DType, Model, Status, Table, TrainOptions};

#[test]
fn bad_spec_json() {
    let err = Model::from_spec_json("{ not json").unwrap_err();
    assert_eq!(err.status(), Status::Parse);
    assert!(!err.message().is_empty());
    assert!(err.to_string().starts_with("TT_ERR_PARSE: "), "{err}");

    let bad_field = SPEC.replace("\"batch_size\": 64", "\"batch_size\": -3");
    let err = Model::from_spec_json(&bad_field).unwrap_err();
    assert!(err.message().contains("batch_size"), "{err}");
}

#[test]
fn missing_files() {
    let dir = temp_dir("missing");
    let missing = dir.join("nope.tt");
    let err = Model::load(&missing).unwrap_err();
    assert_eq!(err.status(), Status::Io);
    assert!(err.message().contains("nope.tt"), "{err}");
    let err = Model::from_spec_file(dir.join("nope.json")).unwrap_err();
    assert_eq!(err.status(), Status::Io);
    assert!(err.message().contains("nope.json"), "{err}");
    let err = Table::read_file(dir.join("nope.csv"), &[("a", DType::String)]).unwrap_err();
    assert_eq!(err.status(), Status::Io);
    let err = load_movielens(&dir).unwrap_err();
    assert_eq!(err.status(), Status::Io, "{err}");
    assert!(err.message().contains("does not exist"), "{err}");
    let (model, _) = trained();
    let err = model.save(dir.join("no/such/dir/model.tt")).unwrap_err();
    assert_eq!(err.status(), Status::Io);
}

#[test]
fn corrupt_and_truncated_bytes() {
    let (model, _) = trained();
    let bytes = model.to_bytes().unwrap();
    for at in [0, 9, bytes.len() / 2, bytes.len() - 1] {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x40;
        let err = Model::from_bytes(&damaged).unwrap_err();
        assert!(matches!(err.status(), Status::Corrupt | Status::Unsupported), "byte {at}: {err}");
        assert!(!err.message().is_empty());
    }
    for len in [0, 7, bytes.len() / 3, bytes.len() - 1] {
        let err = Model::from_bytes(&bytes[..len]).unwrap_err();
        assert_eq!(err.status(), Status::Corrupt, "{len} bytes: {err}");
    }
    let dir = temp_dir("corrupt");
    let path = dir.join("cut.tt");
    std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    assert_eq!(Model::load(&path).unwrap_err().status(), Status::Corrupt);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn interior_nul_bytes_are_refused_before_the_library() {
    let err = Model::from_spec_json("{\0}").unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().contains("NUL byte at position 1"), "{err}");
    let err = Model::load("model\0.tt").unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().contains("NUL"), "{err}");
    let err = Table::builder().strings("user_id", &["4\u{0}2"]).build().unwrap_err();
    assert!(err.message().contains("value 0 of column 'user_id'"), "{err}");
    let err = Table::new().unwrap().append_i64("a\0b", &[1]).map(|_| ()).unwrap_err();
    assert!(err.message().contains("column name"), "{err}");
    let (model, _) = trained();
    let err = model.candidate_id("i\u{0}1").unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
}

#[test]
fn untrained_models() {
    let model = Model::from_spec_json(SPEC).unwrap();
    assert_eq!(model.num_candidates().unwrap(), 0);
    assert_eq!(model.embedding_dim().unwrap(), 16);
    for err in [
        model.query(&user_queries(&[0]), 3).unwrap_err(),
        model.to_bytes().unwrap_err(),
        model.candidate_key(0).map(|_| ()).unwrap_err(),
        model.embed_queries(&user_queries(&[0])).map(|_| ()).unwrap_err(),
    ] {
        assert_eq!(err.status(), Status::InvalidArgument);
        assert!(err.message().contains("trained or loaded model"), "{err}");
    }
}

#[test]
fn bad_training_input() {
    let (interactions, candidates) = synthetic_tables();
    let mut model = Model::from_spec_json(SPEC).unwrap();
    let ragged = Table::builder().strings("user_id", &["u1", "u2"]).int64("timestamp", &[1]).build();
    assert_eq!(ragged.unwrap_err().status(), Status::InvalidArgument);
    let err = model.train(&candidates, &candidates, TrainOptions::new().epochs(1)).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().contains("test_rows 200 exceeds the 30 interactions"), "{err}");
    let users: Vec<String> = (0..ROWS).map(|i| format!("u{}", i % USERS)).collect();
    let items: Vec<String> = (0..ROWS).map(|i| format!("i{}", i % ITEMS)).collect();
    let no_timestamp = Table::builder()
        .strings("user_id", &users)
        .strings("item_id", &items)
        .strings("title", &items)
        .build()
        .unwrap();
    let err = model.train(&no_timestamp, &candidates, TrainOptions::new().epochs(1)).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().contains("timestamp"), "{err}");
    let err = model.train(&interactions, &candidates, TrainOptions::new().threads(usize::MAX)).unwrap_err();
    assert!(err.message().contains("TrainOptions::threads"), "{err}");
    // A failed training leaves the model usable.
    model.train(&interactions, &candidates, TrainOptions::new().epochs(1)).unwrap();
}

#[test]
fn messages_belong_to_their_thread() {
    // A failure on one thread does not leak its message into another thread's error.
    let a = std::thread::spawn(|| Model::load("/nonexistent/a.tt").unwrap_err());
    let b = std::thread::spawn(|| Model::from_spec_json("[").unwrap_err());
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    assert!(a.message().contains("a.tt") && a.status() == Status::Io, "{a}");
    assert!(b.status() == Status::Parse && !b.message().contains("a.tt"), "{b}");
}
