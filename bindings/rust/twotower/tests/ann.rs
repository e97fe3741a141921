//! The approximate index: build, per-query breadth and recall target, filtered search, save and
//! load, conversion.
mod common;

use common::*;
use twotower::{convert, ConvertOptions, Model, QueryOptions};

fn own_copy() -> Model {
    Model::from_bytes(&trained().0.to_bytes().unwrap()).unwrap()
}

fn ids(hits: &[twotower::Hit]) -> Vec<i64> {
    hits.iter().map(|h| h.id).collect()
}

#[test]
fn build_query_filter_save_and_load() {
    let mut model = own_copy();
    assert_eq!(model.ann_info(0.9).unwrap(), (0, 0));
    model.build_ann(5, 1, None).unwrap();
    let (partitions, probe) = model.ann_info(0.9).unwrap();
    assert_eq!(partitions, 5);
    assert!((1..=5).contains(&probe));

    let q = user_queries(&[0, 1, 2, 3]);
    let exact = model.query(&q, 5).unwrap();
    // Every partition and a shortlist of the whole catalogue: the exact answer.
    let full = model.query_with(&q, &QueryOptions::new(5).probe(5).rescore(30)).unwrap();
    for (a, b) in exact.iter().zip(&full) {
        assert_eq!(ids(a), ids(b));
    }
    // Filtered: the exact top 5 excluded and one partition probed: still 5 results.
    let top: Vec<i64> = ids(&exact[0]);
    let one = user_queries(&[0]);
    let filtered = model.query_with(&one, &QueryOptions::new(5).probe(1).exclude(&[&top[..]])).unwrap();
    assert_eq!(filtered[0].len(), 5);
    assert!(filtered[0].iter().all(|h| h.id >= 0 && !top.contains(&h.id)));

    let dir = temp_dir("ann");
    model.save(dir.join("ann.tt")).unwrap();
    let back = Model::load(dir.join("ann.tt")).unwrap();
    assert_eq!(back.ann_info(0.9).unwrap().0, 5);
    let opts = QueryOptions::new(4).recall(0.9);
    assert_eq!(model.query_with(&q, &opts).unwrap(), back.query_with(&q, &opts).unwrap());

    assert!(model.query_with(&q, &QueryOptions::new(4).recall(2.0)).is_err());
    model.drop_ann().unwrap();
    assert_eq!(model.ann_info(0.9).unwrap().0, 0);
    assert!(model.build_ann(31, 0, None).is_err());
}

#[test]
fn convert_adds_the_approximate_index() {
    let dir = temp_dir("ann-convert");
    trained().0.save(dir.join("m.tt")).unwrap();
    let options = ConvertOptions { ann: Some(true), ann_partitions: 3, ..ConvertOptions::default() };
    convert(dir.join("m.tt"), dir.join("ann.tt"), &options).unwrap();
    assert_eq!(Model::load(dir.join("ann.tt")).unwrap().ann_info(0.5).unwrap().0, 3);
}
