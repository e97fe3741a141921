//! Sharded serving: Model::shard, Model::shard_info, merge_topk and ConvertOptions::shard: the
//! shards' merged answers equal the unsharded model's, ids and scores, for 1, 2 and 3 shards.
mod common;

use common::*;
use twotower::{convert, merge_topk, ConvertOptions, Hit, Model, QueryOptions, ShardInfo, Status};

fn shard_of(i: u32, count: u32) -> Model {
    let mut m = Model::from_bytes(&trained().0.to_bytes().unwrap()).unwrap();
    m.shard(i, count).unwrap();
    m
}

#[test]
fn merged_shards_answer_as_the_whole_model() {
    let whole = &trained().0;
    let excluded = vec![vec!["i2", "i20"]; 4];
    for count in 1..=3u32 {
        let shards: Vec<Model> = (0..count).map(|i| shard_of(i, count)).collect();
        // Calls of up to 4 rows are bit for bit (larger batches: within float rounding).
        for first in (0..USERS).step_by(4) {
            let q = user_queries(&(first..first + 4).collect::<Vec<_>>());
            for options in
                [QueryOptions::new(5), QueryOptions::new(ITEMS), QueryOptions::new(4).exclude_keys(&excluded)]
            {
                let want = whole.query_with(&q, &options).unwrap();
                let answers: Vec<Vec<Vec<Hit>>> = shards.iter().map(|s| s.query_with(&q, &options).unwrap()).collect();
                let k = want.iter().map(Vec::len).max().unwrap();
                let got = merge_topk(&answers, k).unwrap();
                // Bit for bit: Hit compares scores with ==, so compare their bits too.
                assert_eq!(got, want, "{count} shards");
                for (g, w) in got.iter().flatten().zip(want.iter().flatten()) {
                    assert_eq!(g.score.to_bits(), w.score.to_bits());
                }
            }
        }
    }
}

#[test]
fn shard_ids_are_catalogue_rows() {
    let whole = &trained().0;
    let mut s = shard_of(1, 3);
    assert_eq!(
        s.shard_info().unwrap(),
        ShardInfo { index: 1, count: 3, offset: 10, candidates: 10, catalogue_size: ITEMS as u64 }
    );
    assert_eq!(whole.shard_info().unwrap().count, 1);
    assert_eq!(s.candidate_key(12).unwrap(), whole.candidate_key(12).unwrap());
    let err = s.candidate_key(3).unwrap_err();
    assert!(err.status() == Status::InvalidArgument && err.message().contains("outside 10..19"), "{err}");
    let allowed = [2i64, 11, 15, 25];
    let hits = s.query_with(&user_queries(&[0]), &QueryOptions::new(10).allow(&allowed)).unwrap();
    let mut ids: Vec<i64> = hits[0].iter().map(|h| h.id).collect();
    ids.sort();
    assert_eq!(ids, vec![11, 15]);
    let err = s.shard(0, 2).unwrap_err();
    assert!(err.message().contains("already shard 1 of 3"), "{err}");

    let dir = temp_dir("shard");
    let (input, output) = (dir.join("whole.tt"), dir.join("shard.tt"));
    whole.save(&input).unwrap();
    convert(&input, &output, &ConvertOptions { shard: Some((2, 3)), ..ConvertOptions::default() }).unwrap();
    let loaded = Model::load(&output).unwrap();
    assert_eq!(
        loaded.shard_info().unwrap(),
        ShardInfo { index: 2, count: 3, offset: 20, candidates: 10, catalogue_size: ITEMS as u64 }
    );
}

#[test]
fn merge_topk_orders_pads_and_refuses_overlaps() {
    let hit = |id, score| Hit { id, score };
    let a = vec![vec![hit(4, 2.0), hit(1, 1.0)]];
    let b = vec![vec![hit(7, 2.0)]];
    let merged = merge_topk(&[a.clone(), b], 5).unwrap();
    assert_eq!(merged, vec![vec![hit(4, 2.0), hit(7, 2.0), hit(1, 1.0)]]);
    let err = merge_topk(&[a.clone(), vec![vec![hit(1, 3.0)]]], 2).unwrap_err();
    assert!(err.message().contains("id 1 is in list 0 and list 1"), "{err}");
    assert!(merge_topk(&[a], 0).is_err());
}
