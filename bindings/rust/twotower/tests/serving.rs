//! Serving additions: a ModelSlot swapped under load, clones, exclusion and allow lists by key,
//! reading tables back, and the index's candidate embeddings.
mod common;

use std::sync::atomic::{AtomicBool, Ordering};

use common::{catalogue, synthetic_tables, trained, user_queries, ITEMS};
use twotower::{DType, Hit, ModelSlot, QueryOptions, Status, Table};

fn ids(hits: &[Hit]) -> Vec<i64> {
    hits.iter().map(|h| h.id).collect()
}

#[test]
fn a_slot_swaps_models_under_load() {
    let (model, _) = trained();
    let catalogues = [catalogue(&(0..ITEMS).collect::<Vec<_>>()), catalogue(&[0, 1, 2])];
    let slot = ModelSlot::new(Some(model.try_clone().unwrap())).unwrap();
    let queries = user_queries(&[0, 1, 2]);
    let swapping = AtomicBool::new(true);
    std::thread::scope(|s| {
        for _ in 0..6 {
            s.spawn(|| {
                let mut rounds = 0;
                while swapping.load(Ordering::Relaxed) || rounds < 20 {
                    let (current, generation) = slot.acquire().unwrap();
                    let hits = current.query(&queries, 100).unwrap();
                    let want = [ITEMS, 3][((generation - 1) % 2) as usize];
                    assert_eq!(hits[0].len(), want, "generation {generation}");
                    rounds += 1;
                }
            });
        }
        for _ in 0..10 {
            let (current, generation) = slot.acquire().unwrap();
            let mut next = current.try_clone().unwrap();
            drop(current);
            next.rebuild_index(&catalogues[(generation % 2) as usize]).unwrap();
            assert_eq!(slot.replace(Some(next)).unwrap(), generation + 1);
        }
        swapping.store(false, Ordering::Relaxed);
    });
    let (current, generation) = slot.acquire().unwrap();
    assert_eq!((generation, current.num_candidates().unwrap()), (11, ITEMS)); // odd generations index every item
}

#[test]
fn an_empty_slot_says_so_and_acquired_models_outlive_a_replace() {
    let (model, _) = trained();
    let slot = ModelSlot::new(None).unwrap();
    let err = slot.acquire().unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().contains("holds no model"), "{err}");
    assert_eq!(slot.replace(Some(model.try_clone().unwrap())).unwrap(), 1);
    let (current, generation) = slot.acquire().unwrap();
    assert_eq!(generation, 1);
    assert_eq!(slot.replace(None).unwrap(), 2);
    assert_eq!(current.num_candidates().unwrap(), ITEMS);
    drop(slot);
    assert_eq!(current.num_candidates().unwrap(), ITEMS);
}

#[test]
fn a_clone_is_independent() {
    let (model, _) = trained();
    let mut clone = model.try_clone().unwrap();
    clone.rebuild_index(&catalogue(&[5])).unwrap();
    assert_eq!((clone.num_candidates().unwrap(), model.num_candidates().unwrap()), (1, ITEMS));
}

#[test]
fn queries_filter_by_key() {
    let (model, _) = trained();
    let queries = user_queries(&[0, 1]);
    let all = model.query(&queries, ITEMS).unwrap();
    let best = ids(&all[0]);
    let keys: Vec<String> = best[..2].iter().map(|&id| model.candidate_key(id).unwrap().to_owned()).collect();
    let none: Vec<String> = vec![];
    let by_id = model.query_with(&queries, &QueryOptions::new(5).exclude(&[&best[..2], &[][..]])).unwrap();
    let by_key = model.query_with(&queries, &QueryOptions::new(5).exclude_keys(&[keys.clone(), none.clone()])).unwrap();
    assert_eq!(by_id, by_key);
    let extra = [best[7]];
    let allowed = model.query_with(&queries, &QueryOptions::new(5).allow_keys(&keys).allow(&extra)).unwrap();
    assert_eq!(ids(&allowed[0]), vec![best[0], best[1], best[7]]);
    let nothing = model.query_with(&queries, &QueryOptions::new(5).allow_keys(&none)).unwrap();
    assert!(nothing.iter().all(Vec::is_empty));
    let gone = vec!["gone".to_owned()];
    let err =
        model.query_with(&queries, &QueryOptions::new(5).exclude_keys(&[gone.clone(), none.clone()])).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().contains("exclude_keys[0][0] is 'gone', a key the index does not hold"), "{err}");
    let both = vec!["gone".to_owned(), keys[0].clone()];
    let skipped = model
        .query_with(&queries, &QueryOptions::new(ITEMS).exclude_keys(&[both, none.clone()]).ignore_unknown_keys(true))
        .unwrap();
    assert_eq!((skipped[0].len(), skipped[1].len()), (ITEMS - 1, ITEMS));
    let err = model.query_with(&queries, &QueryOptions::new(5).exclude_keys(&[gone])).unwrap_err();
    assert!(err.message().contains("exclude_keys has 1 lists, the query table has 2 rows"), "{err}");
}

#[test]
fn tables_read_back() {
    let table = Table::builder()
        .strings("name", &["a", "Star Wars (1977)"])
        .int64("n", &[-1, i64::MAX])
        .float32("x", &[0.5, -2.0])
        .build()
        .unwrap();
    let columns: Vec<(String, DType, usize)> =
        table.columns().unwrap().into_iter().map(|c| (c.name, c.dtype, c.len)).collect();
    assert_eq!(
        columns,
        vec![("name".into(), DType::String, 2), ("n".into(), DType::Int64, 2), ("x".into(), DType::Float32, 2)]
    );
    assert_eq!(table.column_strings("name").unwrap(), vec!["a", "Star Wars (1977)"]);
    assert_eq!(table.column_i64("n").unwrap(), vec![-1, i64::MAX]);
    assert_eq!(table.column_f32("x").unwrap(), vec![0.5, -2.0]);
    let err = table.column_i64("name").unwrap_err();
    assert!(err.message().contains("'name'"), "{err}");
    let err = table.column_strings("nope").unwrap_err();
    assert!(err.message().contains("unknown column 'nope' (columns: name, n, x)"), "{err}");
    let (interactions, _) = synthetic_tables();
    assert_eq!(interactions.column_strings("user_id").unwrap()[41], "u1");
}

#[test]
fn candidate_embeddings_are_what_queries_score() {
    let (model, _) = trained();
    let (_, candidates) = synthetic_tables();
    let index = model.candidate_embeddings(0, ITEMS).unwrap();
    let tower = model.embed_candidates(&candidates).unwrap();
    assert_eq!((index.rows(), index.dim), (ITEMS, model.embedding_dim().unwrap()));
    for (a, b) in index.values.iter().zip(&tower.values) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
    assert_eq!(model.candidate_embeddings(28, 2).unwrap().values, index.values[28 * index.dim..]);
    let queries = user_queries(&[3]);
    let q = model.embed_queries(&queries).unwrap();
    for hit in &model.query(&queries, 5).unwrap()[0] {
        let dot: f32 = q.row(0).iter().zip(index.row(hit.id as usize)).map(|(a, b)| a * b).sum();
        assert!((dot - hit.score).abs() < 1e-4, "{dot} vs {}", hit.score);
    }
    let err = model.candidate_embeddings(29, 2).unwrap_err();
    assert!(err.message().contains("beyond the index's 30"), "{err}");
}
