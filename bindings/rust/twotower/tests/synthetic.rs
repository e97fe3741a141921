//! Training, serving, files and threads on the small synthetic problem.
mod common;

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::sync::Arc;

use common::*;
use twotower::{DType, Hit, Model, QueryOptions, SaveOptions, SearchPrecision, Status, Table, TrainOptions};

fn ids(hits: &[Hit]) -> Vec<i64> {
    hits.iter().map(|h| h.id).collect()
}

#[test]
fn training_learns_the_groups() {
    let (model, metrics) = trained();
    assert_eq!(metrics.top_k.iter().map(|(k, _)| *k).collect::<Vec<_>>(), [1, 5, 10]);
    assert_eq!(metrics.examples, 200);
    assert!(metrics.accuracy(10).unwrap() > 0.5, "{metrics:?}");
    assert_eq!(model.num_candidates().unwrap(), ITEMS);
    assert_eq!(model.embedding_dim().unwrap(), 16);
    // Each user's top 3 come from the 6 items of the user's group.
    let users: Vec<usize> = (0..USERS).collect();
    let results = model.query(&user_queries(&users), 3).unwrap();
    let mut in_group = 0;
    for (u, hits) in results.iter().enumerate() {
        let group: BTreeSet<String> = group_items(u % 5).into_iter().collect();
        in_group += hits.iter().filter(|h| group.contains(model.candidate_key(h.id).unwrap())).count();
    }
    assert!(in_group as f64 >= 0.9 * (3 * USERS) as f64, "{in_group} of {} in the user's group", 3 * USERS);
}

#[test]
fn progress_reports_batches_and_epochs_and_training_is_deterministic() {
    let (interactions, candidates) = synthetic_tables();
    let mut reports = Vec::new();
    let mut model = Model::from_spec_json(SPEC).unwrap();
    let metrics = model
        .train(
            &interactions,
            &candidates,
            TrainOptions::new().epochs(3).eval_every(1).seed(5).threads(1).progress(|p| {
                reports.push(p.clone());
                ControlFlow::Continue(())
            }),
        )
        .unwrap();
    let batches = 1000u32.div_ceil(64);
    let closing: Vec<_> = reports.iter().filter(|p| p.epoch_done()).collect();
    assert_eq!(reports.len() as u32, 3 * (batches + 1));
    assert_eq!(closing.iter().map(|p| p.epoch).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(closing.iter().all(|p| p.batch == batches && p.epochs == 3 && p.loss.unwrap().is_finite()));
    assert!(closing.iter().all(|p| p.metrics.is_some()), "eval_every(1) evaluates every epoch");
    assert_eq!(closing[2].metrics.as_ref(), Some(&metrics));
    assert!(reports.iter().filter(|p| !p.epoch_done()).all(|p| p.metrics.is_none() && p.loss.is_none()));

    // The same seed gives the same model.
    let mut again = Model::from_spec_json(SPEC).unwrap();
    let metrics2 = again
        .train(&interactions, &candidates, TrainOptions::new().epochs(3).eval_every(1).seed(5).threads(1))
        .unwrap();
    assert_eq!(metrics, metrics2);
    let q = user_queries(&[0, 1, 2]);
    assert_eq!(model.query(&q, 5).unwrap(), again.query(&q, 5).unwrap());
}

#[test]
fn cancelling_from_the_closure_keeps_the_model_as_it_was() {
    let (interactions, candidates) = synthetic_tables();
    let mut model = Model::from_spec_json(SPEC).unwrap();
    let mut calls = 0;
    let err = model
        .train(
            &interactions,
            &candidates,
            TrainOptions::new().epochs(5).progress(|p| {
                calls += 1;
                if p.epoch == 2 && p.batch == 3 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            }),
        )
        .unwrap_err();
    assert_eq!(err.status(), Status::Cancelled);
    assert!(err.message().contains("cancelled"), "{err}");
    assert_eq!(calls, 16 + 1 + 3, "no report after the cancelling one");
    // Never trained: still untrained, so queries fail.
    assert_eq!(model.num_candidates().unwrap(), 0);
    assert_eq!(model.query(&user_queries(&[0]), 3).unwrap_err().status(), Status::InvalidArgument);

    // A trained model keeps its weights when a retraining is cancelled.
    model.train(&interactions, &candidates, TrainOptions::new().epochs(1)).unwrap();
    let before = model.to_bytes().unwrap();
    let err = model
        .train(&interactions, &candidates, TrainOptions::new().epochs(2).progress(|_| ControlFlow::Break(())))
        .unwrap_err();
    assert_eq!(err.status(), Status::Cancelled);
    assert_eq!(model.to_bytes().unwrap(), before);
}

#[test]
fn a_panic_in_the_closure_cancels_and_reaches_the_caller() {
    let (interactions, candidates) = synthetic_tables();
    let mut model = Model::from_spec_json(SPEC).unwrap();
    let mut calls = 0;
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        model.train(
            &interactions,
            &candidates,
            TrainOptions::new().epochs(3).progress(|_| {
                calls += 1;
                panic!("stop here");
            }),
        )
    }));
    let payload = caught.expect_err("the panic is resumed in the caller");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"stop here"));
    assert_eq!(calls, 1, "training stopped at the first report");
    // The library is fine afterwards, and so is the model (still untrained).
    assert_eq!(model.num_candidates().unwrap(), 0);
    model.train(&interactions, &candidates, TrainOptions::new().epochs(1)).unwrap();
    assert_eq!(model.num_candidates().unwrap(), ITEMS);
}

#[test]
fn query_results_are_ordered_and_k_beyond_the_candidates_gives_them_all() {
    let (model, _) = trained();
    let results = model.query(&user_queries(&[0, 1, 2, 3, 4, 5, 6]), 5).unwrap();
    assert_eq!(results.len(), 7);
    for hits in &results {
        assert_eq!(hits.len(), 5);
        assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    }
    let all = model.query(&user_queries(&[3]), 40).unwrap();
    assert_eq!(all[0].len(), ITEMS);
    assert_eq!(ids(&all[0]).into_iter().collect::<BTreeSet<_>>(), (0..ITEMS as i64).collect());
    let err = model.query(&user_queries(&[3]), 0).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().contains("k must be positive"), "{err}");
}

#[test]
fn exclusions_per_query() {
    let (model, _) = trained();
    let q = user_queries(&[0, 1]);
    let base = model.query(&q, 10).unwrap();
    let excluded = ids(&base[0][..3]);
    let lists: [&[i64]; 2] = [&excluded, &[]];
    let results = model.query_with(&q, &QueryOptions::new(10).exclude(&lists)).unwrap();
    assert_eq!(ids(&results[0][..7]), ids(&base[0][3..]));
    assert!(ids(&results[0]).iter().all(|id| !excluded.contains(id)));
    assert_eq!(results[1], base[1], "an empty list excludes nothing");
    // Vec<Vec<i64>> works too; ids out of range are ignored.
    let owned = vec![vec![-5, 1000], vec![]];
    assert_eq!(model.query_with(&q, &QueryOptions::new(10).exclude(&owned)).unwrap(), base);

    let err = model.query_with(&q, &QueryOptions::new(10).exclude(&[vec![1i64]])).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().contains("1 lists, the query table has 2 rows"), "{err}");
}

#[test]
fn allow_list() {
    let (model, _) = trained();
    let allow: Vec<i64> = ["i0", "i7", "i29"].iter().map(|k| model.candidate_id(k).unwrap().unwrap()).collect();
    let results = model.query_with(&user_queries(&[0, 1]), &QueryOptions::new(5).allow(&allow)).unwrap();
    for hits in &results {
        assert_eq!(ids(hits).into_iter().collect::<BTreeSet<_>>(), allow.iter().copied().collect());
    }
    // Exclusions apply on top of the allow-list.
    let results =
        model.query_with(&user_queries(&[0]), &QueryOptions::new(5).allow(&allow).exclude(&[&allow[..1]])).unwrap();
    assert_eq!(ids(&results[0]).into_iter().collect::<BTreeSet<_>>(), allow[1..].iter().copied().collect());
    // An empty allow-list allows nothing.
    let results = model.query_with(&user_queries(&[0]), &QueryOptions::new(3).allow(&[])).unwrap();
    assert_eq!(results, vec![vec![]]);
}

#[test]
fn candidate_keys_and_ids() {
    let (model, _) = trained();
    let id = model.candidate_id("i7").unwrap().expect("i7 is a candidate");
    assert_eq!(model.candidate_key(id).unwrap(), "i7");
    assert_eq!(model.candidate_key_bytes(id).unwrap(), b"i7");
    assert_eq!(model.candidate_id("not an item").unwrap(), None);
    let err = model.candidate_key(ITEMS as i64).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().contains("outside 0..29"), "{err}");
}

#[test]
fn embeddings_give_the_scores() {
    let (model, _) = trained();
    let users: Vec<usize> = (0..12).collect();
    let q = model.embed_queries(&user_queries(&users)).unwrap();
    assert_eq!((q.rows(), q.dim), (12, 16));
    let items: Vec<usize> = (0..ITEMS as i64).map(|i| model.candidate_key(i).unwrap()[1..].parse().unwrap()).collect();
    let c = model.embed_candidates(&catalogue(&items)).unwrap();
    assert_eq!((c.rows(), c.dim), (ITEMS, 16));
    for (u, hits) in model.query(&user_queries(&users), 5).unwrap().iter().enumerate() {
        for hit in hits {
            let dot: f32 = q.row(u).iter().zip(c.row(hit.id as usize)).map(|(a, b)| a * b).sum();
            assert!((dot - hit.score).abs() <= 1e-4 * (1.0 + dot.abs()), "user {u}: {dot} vs {}", hit.score);
        }
    }
    let empty = Table::builder().strings("user_id", &[] as &[&str]).int64("timestamp", &[]).build().unwrap();
    assert_eq!(model.embed_queries(&empty).unwrap().rows(), 0);
    assert_eq!(model.query(&empty, 3).unwrap(), Vec::<Vec<Hit>>::new());
}

#[test]
fn unknown_users_and_missing_columns() {
    let (model, _) = trained();
    let q = Table::builder().strings("user_id", &["never seen"]).int64("timestamp", &[1_000_000]).build().unwrap();
    assert_eq!(model.query(&q, 3).unwrap()[0].len(), 3, "an unknown id is out of vocabulary, not an error");
    let q = Table::builder().strings("user_id", &["u1"]).build().unwrap();
    let err = model.query(&q, 3).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().contains("timestamp"), "{err}");
    assert_eq!(
        model.query_columns().unwrap(),
        [("user_id".to_owned(), DType::String), ("timestamp".to_owned(), DType::Int64)]
    );
}

#[test]
fn evaluate_and_json_texts() {
    let (model, metrics) = trained();
    let (interactions, candidates) = synthetic_tables();
    let all = model.evaluate(&interactions, &candidates, false).unwrap();
    assert_eq!(all.examples, ROWS as u64);
    assert_eq!(all.top_k.len(), metrics.top_k.len());
    assert!(all.accuracy(10).unwrap() > 0.5);
    assert!(model.spec_json().unwrap().contains("\"synthetic\""));
    let metadata = model.metadata_json().unwrap();
    assert!(metadata.contains("\"candidates\": 30"), "{metadata}");
    assert!(metadata.contains(&format!("\"library_version\": \"{}\"", twotower::version())), "{metadata}");
}

#[test]
fn rebuild_index_serves_a_new_catalogue() {
    let (original, _) = trained();
    let mut model = Model::from_bytes(&original.to_bytes().unwrap()).unwrap();
    model.rebuild_index(&catalogue(&[0, 1, 2, 3, 4])).unwrap();
    assert_eq!(model.num_candidates().unwrap(), 5);
    let hits = &model.query(&user_queries(&[0]), 10).unwrap()[0];
    assert_eq!(hits.len(), 5);
    assert_eq!(model.candidate_id("i7").unwrap(), None);
    assert_eq!(original.num_candidates().unwrap(), ITEMS, "the original is untouched");
}

#[test]
fn save_and_load_a_file_and_bytes() {
    let (model, _) = trained();
    let dir = temp_dir("files");
    let path = dir.join("synthetic.tt");
    model.save(&path).unwrap();
    let q = user_queries(&[0, 5, 9, 33]);
    let expected = model.query(&q, 7).unwrap();
    let from_file = Model::load(&path).unwrap();
    assert_eq!(from_file.query(&q, 7).unwrap(), expected);
    assert_eq!(from_file.spec_json().unwrap(), model.spec_json().unwrap());

    let bytes = model.to_bytes().unwrap();
    assert_eq!(bytes, std::fs::read(&path).unwrap(), "the file holds the same bytes");
    let from_bytes = Model::from_bytes(&bytes).unwrap();
    assert_eq!(from_bytes.query(&q, 7).unwrap(), expected);

    let checkpoint = model.to_bytes_with(&SaveOptions { compression_level: 19, include_optimizer: true }).unwrap();
    assert!(checkpoint.len() > bytes.len(), "the optimizer state takes room");
    let raw = model.to_bytes_with(&SaveOptions { compression_level: 0, ..Default::default() }).unwrap();
    assert!(raw.len() > bytes.len(), "level 0 stores every section uncompressed");
    assert_eq!(Model::from_bytes(&raw).unwrap().query(&q, 7).unwrap(), expected);
    assert!(Model::from_bytes(&checkpoint).unwrap().metadata_json().unwrap().contains("\"has_optimizer_state\": true"));
    let err =
        model.save_with(dir.join("x.tt"), &SaveOptions { compression_level: 20, ..Default::default() }).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().contains("compression_level"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn concurrent_queries_from_threads_agree() {
    let (model, _) = trained();
    let model = Arc::new(Model::from_bytes(&model.to_bytes().unwrap()).unwrap());
    let users: Vec<usize> = (0..USERS).collect();
    let shared = Arc::new(user_queries(&users));
    let expected = model.query(&shared, 5).unwrap();
    // One-row queries can differ from rows of a batch in the last bit (another GEMM shape).
    let expected_alone: Vec<_> = users.iter().map(|&u| model.query(&user_queries(&[u]), 5).unwrap()).collect();
    let embedded = model.embed_queries(&shared).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (model, shared) = (Arc::clone(&model), Arc::clone(&shared));
            std::thread::spawn(move || {
                let mut out = Vec::new();
                for round in 0..25 {
                    // Shared table and a table of this thread's own; keys and embeddings too.
                    out.push(model.query(&shared, 5).unwrap());
                    let u = (t * 25 + round) % USERS;
                    let own = model.query(&user_queries(&[u]), 5).unwrap();
                    assert!(model.candidate_key(own[0][0].id).unwrap().starts_with('i'));
                    out.push(vec![own[0].clone()]);
                    assert_eq!(model.embed_queries(&shared).unwrap().rows(), USERS);
                    if round % 10 == 0 {
                        let _ = model.to_bytes().unwrap();
                    }
                }
                (t, out)
            })
        })
        .collect();
    for handle in threads {
        let (t, out) = handle.join().unwrap();
        for (round, result) in out.chunks(2).enumerate() {
            assert_eq!(result[0], expected, "thread {t} round {round}");
            let u = (t * 25 + round) % USERS;
            assert_eq!(result[1], expected_alone[u], "thread {t} round {round} user {u}");
        }
    }
    assert_eq!(model.embed_queries(&shared).unwrap(), embedded);
}

#[test]
fn tables_from_files() {
    let dir = temp_dir("tables");
    let csv = dir.join("items.csv");
    std::fs::write(&csv, "item_id,title,price,stock\ni1,\"A, quoted\",1.5,3\ni2,Plain,2,4\n").unwrap();
    let t = Table::read_file(&csv, &[("item_id", DType::String), ("price", DType::Float32), ("stock", DType::Int64)])
        .unwrap();
    assert_eq!(t.num_rows().unwrap(), 2);
    let tsv = dir.join("items.tsv");
    std::fs::write(&tsv, "item_id\ttitle\ni1\tone\ni2\ttwo\ni3\tthree\n").unwrap();
    let t = Table::read_file(&tsv, &[("item_id", DType::String), ("title", DType::String)]).unwrap();
    assert_eq!(t.num_rows().unwrap(), 3);
    std::fs::write(&csv, "item_id,stock\ni1,3\ni2,many\n").unwrap();
    let err = Table::read_file(&csv, &[("stock", DType::Int64)]).unwrap_err();
    assert_eq!(err.status(), Status::Parse);
    assert!(err.message().contains("items.csv:3") && err.message().contains("'stock'"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn columnar_files() {
    let dir = temp_dir("columnar");
    let csv = dir.join("clicks.csv");
    std::fs::write(&csv, "user,item,ignored\n\"u, 1\",10,x\nu2,20,y\nu2,10,z\n").unwrap();
    let ttc = dir.join("clicks.ttc");
    twotower::convert_data(&csv, &ttc, &[("user", DType::String), ("item", DType::Int64)]).unwrap();
    let t = Table::read_file(&ttc, &[("item", DType::Int64)]).unwrap();
    assert_eq!(t.num_rows().unwrap(), 3);
    let again = dir.join("again.ttc");
    t.write_columnar(&again).unwrap();
    assert_eq!(Table::read_file(&again, &[("item", DType::Int64)]).unwrap().num_rows().unwrap(), 3);
    let err = Table::read_file(&ttc, &[("item", DType::String)]).unwrap_err();
    assert_eq!(err.status(), Status::Parse);
    assert!(err.message().contains("column 'item' is stored as int64, expected string"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn tables_built_in_batches() {
    let mut t = Table::new().unwrap();
    assert_eq!(t.num_rows().unwrap(), 0);
    t.append_strings("a", &["x", "y"]).unwrap().append_i64("b", &[1]).unwrap();
    let err = t.validate().unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().contains("'b' has 1 rows"), "{err}");
    t.append_i64("b", &[2]).unwrap().append_f32("c", &[0.5, 1.5]).unwrap();
    assert_eq!(t.num_rows().unwrap(), 2);
    t.validate().unwrap();
    let err = t.append_f32("a", &[1.0]).unwrap_err();
    assert!(err.message().contains("column 'a' holds string values"), "{err}");
    // Tables move to and are shared between threads (Send + Sync).
    let t = std::thread::spawn(move || t).join().unwrap();
    std::thread::scope(|s| {
        s.spawn(|| assert_eq!(t.num_rows().unwrap(), 2));
        s.spawn(|| assert_eq!(t.num_rows().unwrap(), 2));
    });
}

#[test]
fn compact_search_precisions_give_the_float32_top_k() {
    let (original, _) = trained();
    let mut model = Model::from_bytes(&original.to_bytes().unwrap()).unwrap();
    assert_eq!(model.search_precision().unwrap(), SearchPrecision::Float32);
    let queries = user_queries(&[0, 7, 13]);
    let want: Vec<Vec<i64>> = model.query(&queries, 5).unwrap().iter().map(|h| ids(h)).collect();
    for p in [SearchPrecision::Bf16, SearchPrecision::Int8, SearchPrecision::Float32] {
        model.set_search_precision(Some(p)).unwrap();
        assert_eq!(model.search_precision().unwrap(), p);
        let got: Vec<Vec<i64>> = model.query(&queries, 5).unwrap().iter().map(|h| ids(h)).collect();
        assert_eq!(got, want, "{p:?}");
    }
    model.set_search_precision(None).unwrap();
    assert_eq!(model.search_precision().unwrap(), SearchPrecision::Float32);
}
