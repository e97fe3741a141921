//! Sharded serving (docs/distributed.md, "Sharded serving"): a model keeps one slice of its
//! candidate index, answers with catalogue rows as ids, and [`merge_topk`] merges the shards'
//! answers into the unsharded model's.
use twotower_sys as sys;

use crate::error::{check, Error, Result, Status};
use crate::model::{Hit, Model};

/// Which slice of a catalogue a model's index holds: shard `index` of `count` holds catalogue
/// rows `offset .. offset + candidates` of `catalogue_size`. A whole model is shard 0 of 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardInfo {
    pub index: u32,
    pub count: u32,
    pub offset: u64,
    pub candidates: u64,
    pub catalogue_size: u64,
}

impl Model {
    /// Keeps shard `index` (0 .. count) of `count` (1 ..= 65536, at most the candidates) of the
    /// candidate index: catalogue rows `[index*N/count, (index+1)*N/count)`, with an
    /// approximate index rebuilt over the slice. From then on candidate ids are catalogue rows:
    /// queries return them, exclusion and allow lists take them (ids of other shards are
    /// ignored), as do `candidate_key`, `candidate_id` and `candidate_embeddings`; keys of other
    /// shards in key lists are skipped. Training further and `rebuild_index` refuse a shard,
    /// and a shard cannot be sharded again. Needs the model exclusively (`&mut self`).
    pub fn shard(&mut self, index: u32, count: u32) -> Result<()> {
        // SAFETY: a valid handle; the model is exclusively borrowed.
        check(unsafe { sys::tt_model_shard(self.as_mut_ptr(), index, count) })
    }

    /// The model's shard ([`ShardInfo`]).
    pub fn shard_info(&self) -> Result<ShardInfo> {
        let mut raw = std::mem::MaybeUninit::<sys::tt_shard_info>::zeroed();
        // SAFETY: a valid, writable struct, initialised by tt_shard_info_init, and a valid handle.
        let raw = unsafe {
            sys::tt_shard_info_init(raw.as_mut_ptr());
            check(sys::tt_model_shard_info(self.ptr(), raw.as_mut_ptr()))?;
            raw.assume_init()
        };
        Ok(ShardInfo {
            index: raw.index,
            count: raw.count,
            offset: raw.offset,
            candidates: raw.candidates,
            catalogue_size: raw.catalogue_size,
        })
    }
}

/// Merges the shards' answers to the same queries into the top `k` per query: `answers[s]` is
/// what shard s's query returned (one list of hits per query row). Each merged list holds the
/// `k` best hits, higher score first, ties to the lower id, as the unsharded model orders
/// them: merging the exact answers (each shard asked for at least `k`) of every shard gives
/// the unsharded model's answer bit for bit (`tt_topk_merge`). An id in two answers of one
/// row (shards that overlap), a negative id or a NaN score is an error.
pub fn merge_topk(answers: &[Vec<Vec<Hit>>], k: usize) -> Result<Vec<Vec<Hit>>> {
    crate::ensure_abi()?;
    let invalid = |message: String| Error::new(Status::InvalidArgument, message);
    if k == 0 {
        return Err(invalid("merge_topk: k is 0; it must be at least 1".into()));
    }
    let rows = answers.first().map_or(0, Vec::len);
    if let Some(s) = answers.iter().position(|a| a.len() != rows) {
        return Err(invalid(format!("merge_topk: answer {s} has {} rows, answer 0 has {rows}", answers[s].len())));
    }
    let k_in = answers.iter().flatten().map(Vec::len).max().unwrap_or(0);
    // Every answer padded to k_in slots (id -1 marks an empty slot).
    let mut ids: Vec<Vec<i64>> = Vec::with_capacity(answers.len());
    let mut scores: Vec<Vec<f32>> = Vec::with_capacity(answers.len());
    for answer in answers {
        let (mut i, mut s) = (vec![-1i64; rows * k_in], vec![f32::NEG_INFINITY; rows * k_in]);
        for (r, hits) in answer.iter().enumerate() {
            for (j, hit) in hits.iter().enumerate() {
                i[r * k_in + j] = hit.id;
                s[r * k_in + j] = hit.score;
            }
        }
        ids.push(i);
        scores.push(s);
    }
    let id_ptrs: Vec<*const i64> = ids.iter().map(|v| v.as_ptr()).collect();
    let score_ptrs: Vec<*const f32> = scores.iter().map(|v| v.as_ptr()).collect();
    let mut out_ids = vec![-1i64; (rows * k).max(1)];
    let mut out_scores = vec![0f32; (rows * k).max(1)];
    // SAFETY: `answers.len()` lists of rows * k_in values each, outputs of rows * k.
    check(unsafe {
        sys::tt_topk_merge(
            id_ptrs.as_ptr(),
            score_ptrs.as_ptr(),
            answers.len(),
            rows,
            k_in,
            k,
            out_ids.as_mut_ptr(),
            out_scores.as_mut_ptr(),
        )
    })?;
    Ok((0..rows)
        .map(|r| {
            (r * k..(r + 1) * k)
                .take_while(|&j| out_ids[j] != -1)
                .map(|j| Hit { id: out_ids[j], score: out_scores[j] })
                .collect()
        })
        .collect())
}
