//! `Model::train_streamed` (issue 17): training from a columnar file through a shuffle buffer
//! or under a memory limit, and its refusals.
mod common;

use twotower::{Model, Status, StreamOptions, TrainOptions};

/// The synthetic spec with the column types declared and every row not held out training, as
/// streaming needs.
fn stream_spec() -> String {
    common::SPEC
        .replacen(
            r#""name": "synthetic","#,
            r#""name": "synthetic", "columns": {"user_id": "string", "timestamp": "int64", "item_id": "string", "title": "string"},"#,
            1,
        )
        .replacen(r#""train_rows": 1000"#, r#""train_rows": 0"#, 1)
}

fn expect_invalid(result: twotower::Result<twotower::Metrics>, needle: &str) {
    let e = result.expect_err("expected an error");
    assert_eq!(e.status(), Status::InvalidArgument, "{}", e.message());
    assert!(e.message().contains(needle), "{:?} lacks {needle:?}", e.message());
}

#[test]
fn train_streamed_with_a_buffer_or_a_memory_limit() {
    let (interactions, candidates) = common::synthetic_tables();
    let dir = common::temp_dir("streaming");
    let ttc = dir.join("clicks.ttc");
    interactions.write_columnar(&ttc).unwrap();
    let mut model = Model::from_spec_json(&stream_spec()).unwrap();

    expect_invalid(
        model.train_streamed(&ttc, &candidates, TrainOptions::new(), &StreamOptions::default()),
        "set shuffle_buffer_rows, memory_limit or both",
    );
    // A buffer of 256 rows learns the groups.
    let buffer = StreamOptions { shuffle_buffer_rows: 256, ..StreamOptions::default() };
    let metrics = model.train_streamed(&ttc, &candidates, TrainOptions::new().epochs(8).threads(2), &buffer).unwrap();
    assert_eq!(metrics.examples, 200);
    assert!(metrics.accuracy(10).unwrap() > 0.3, "{metrics:?}");
    expect_invalid(model.train_streamed(&ttc, &candidates, TrainOptions::new(), &buffer), "trains a new model");

    // A memory limit alone sizes the buffer; one too small is refused with the figures.
    let mut batches = 0;
    let limit = StreamOptions { memory_limit: 4 << 30, ..StreamOptions::default() };
    let options = TrainOptions::new().epochs(1).threads(2).reset(true).progress(|_| {
        batches += 1;
        std::ops::ControlFlow::Continue(())
    });
    model.train_streamed(&ttc, &candidates, options, &limit).unwrap();
    assert!(batches > 0);
    let small = StreamOptions { memory_limit: 1 << 20, ..StreamOptions::default() };
    expect_invalid(
        model.train_streamed(&ttc, &candidates, TrainOptions::new().reset(true), &small),
        "the memory limit of 1.0 MiB cannot hold",
    );
    let csv = dir.join("clicks.csv");
    std::fs::write(&csv, "user_id,item_id\nu1,i1\n").unwrap();
    expect_invalid(
        model.train_streamed(&csv, &candidates, TrainOptions::new().reset(true), &limit),
        "is not a columnar data file",
    );
    let _ = std::fs::remove_dir_all(&dir);
}
