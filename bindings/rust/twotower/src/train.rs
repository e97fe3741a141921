//! Training options, progress reports and FactorizedTopK metrics.
use std::any::Any;
use std::ffi::{c_int, c_void};
use std::fmt;
use std::ops::ControlFlow;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use twotower_sys as sys;

use crate::error::{check, Error, Result, Status};

/// FactorizedTopK accuracies: for each evaluated k, the share of held-out (query, candidate)
/// pairs whose candidate ranks in the top k.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    /// (k, accuracy) in the spec's order; empty if nothing was evaluated.
    pub top_k: Vec<(u32, f64)>,
    /// Held-out pairs evaluated.
    pub examples: u64,
    /// The most-popular list's accuracy on the same rows, in the order of `top_k` (candidates
    /// ranked by their count in the training rows, one list for every query); empty when the
    /// counts are unknown.
    pub baseline: Vec<f64>,
}

impl Metrics {
    /// The top-k accuracy for this k, if it was evaluated.
    pub fn accuracy(&self, k: u32) -> Option<f64> {
        self.top_k.iter().find(|(kk, _)| *kk == k).map(|(_, a)| *a)
    }

    pub(crate) fn from_raw(m: &sys::tt_metrics) -> Metrics {
        let count = m.count.min(sys::TT_MAX_K);
        let baseline = if m.has_baseline != 0 { m.baseline_accuracy[..count].to_vec() } else { Vec::new() };
        Metrics { top_k: (0..count).map(|i| (m.k[i], m.accuracy[i])).collect(), examples: m.examples, baseline }
    }

    /// The k at which the model does not beat the most-popular baseline (empty: it beats it
    /// everywhere, or there is no baseline).
    pub fn not_beating_baseline(&self) -> Vec<u32> {
        self.top_k.iter().zip(&self.baseline).filter(|((_, a), b)| !(*a > **b)).map(|((k, _), _)| *k).collect()
    }

    pub(crate) fn raw() -> sys::tt_metrics {
        let mut m = std::mem::MaybeUninit::<sys::tt_metrics>::zeroed();
        // SAFETY: a valid, writable tt_metrics (all-zero bytes are a valid value too).
        unsafe {
            sys::tt_metrics_init(m.as_mut_ptr());
            m.assume_init()
        }
    }
}

/// One report from training: after every batch, and once more when an epoch closes.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// 1-based.
    pub epoch: u32,
    pub epochs: u32,
    /// `batch == batches` once the epoch is done.
    pub batch: u32,
    pub batches: u32,
    /// The mean per-example loss of the finished epoch: `Some` only when this report closes one.
    pub loss: Option<f64>,
    /// The evaluation of the finished epoch, if it was evaluated.
    pub metrics: Option<Metrics>,
}

impl Progress {
    /// Whether this report closes an epoch.
    pub fn epoch_done(&self) -> bool {
        self.loss.is_some()
    }

    fn from_raw(p: &sys::tt_progress) -> Progress {
        Progress {
            epoch: p.epoch,
            epochs: p.epochs,
            batch: p.batch,
            batches: p.batches,
            loss: (p.epoch_done != 0).then_some(p.loss),
            metrics: (p.has_metrics != 0).then(|| Metrics::from_raw(&p.metrics)),
        }
    }
}

type ProgressFn<'a> = dyn FnMut(&Progress) -> ControlFlow<()> + 'a;

/// How to train: `TrainOptions::new().epochs(2).seed(7).progress(|p| ...)`. Unset options are
/// the spec's.
#[derive(Default)]
pub struct TrainOptions<'a> {
    epochs: Option<u32>,
    eval_every: Option<u32>,
    seed: Option<u64>,
    threads: usize,
    reset: bool,
    progress: Option<Box<ProgressFn<'a>>>,
}

impl fmt::Debug for TrainOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrainOptions")
            .field("epochs", &self.epochs)
            .field("eval_every", &self.eval_every)
            .field("seed", &self.seed)
            .field("threads", &self.threads)
            .field("reset", &self.reset)
            .field("progress", &self.progress.as_ref().map(|_| "closure"))
            .finish()
    }
}

impl<'a> TrainOptions<'a> {
    pub fn new() -> TrainOptions<'a> {
        TrainOptions::default()
    }

    /// Epochs to train (at least 1), instead of the spec's.
    pub fn epochs(mut self, epochs: u32) -> Self {
        self.epochs = Some(epochs);
        self
    }

    /// Evaluate every n epochs (and after the last); 0: only after the last epoch.
    pub fn eval_every(mut self, epochs: u32) -> Self {
        self.eval_every = Some(epochs);
        self
    }

    /// The shuffling seed, instead of the spec's.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Training threads; 0 (the default): the model's ([`Model::set_threads`](crate::Model::set_threads),
    /// all cores unless set); otherwise the model keeps this count.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Start over on a trained or loaded model (refit the preprocessing, re-initialise the
    /// weights) instead of training it further, which is the default (warm start: see
    /// [`Model::train`](crate::Model::train)).
    pub fn reset(mut self, reset: bool) -> Self {
        self.reset = reset;
        self
    }

    /// Called on the calling thread after every batch and every epoch. Return
    /// `ControlFlow::Break(())` to cancel: `train` then fails with [`Status::Cancelled`] and the
    /// model keeps the weights it had. A panic in the closure cancels training too and is
    /// resumed on the caller once the library has returned (it never unwinds through C).
    pub fn progress(mut self, f: impl FnMut(&Progress) -> ControlFlow<()> + 'a) -> Self {
        self.progress = Some(Box::new(f));
        self
    }
}

/// Runs `call` (a tt_model_train) with the C form of `options` and returns its checked status.
/// A panic of the progress closure is resumed here, after the library has returned.
pub(crate) fn run(
    mut options: TrainOptions<'_>,
    call: impl FnOnce(&sys::tt_train_options) -> sys::tt_status,
) -> Result<()> {
    let mut progress = options.progress.take();
    let mut state = CallbackState { progress: progress.as_deref_mut(), panic: None };
    let mut raw = raw_options(&options)?;
    if state.progress.is_some() {
        raw.progress = Some(progress_trampoline);
        raw.user_data = (&mut state as *mut CallbackState<'_, '_>).cast();
    }
    let result = check(call(&raw)); // right after the call: the message is per thread and short-lived
    if let Some(payload) = state.panic.take() {
        resume_unwind(payload);
    }
    result
}

fn raw_options(options: &TrainOptions<'_>) -> Result<sys::tt_train_options> {
    let mut raw = std::mem::MaybeUninit::<sys::tt_train_options>::zeroed();
    // SAFETY: a valid, writable struct; all-zero bytes are a valid value (None, null).
    let mut raw = unsafe {
        sys::tt_train_options_init(raw.as_mut_ptr());
        raw.assume_init()
    };
    let out_of_range = |what: &str, value: u64| {
        Error::new(Status::InvalidArgument, format!("TrainOptions::{what} is {value}, more than {}", i32::MAX))
    };
    if let Some(epochs) = options.epochs {
        raw.epochs = epochs;
    }
    if let Some(every) = options.eval_every {
        raw.eval_every = i32::try_from(every).map_err(|_| out_of_range("eval_every", every.into()))?;
    }
    if let Some(seed) = options.seed {
        raw.seed = seed;
        raw.seed_set = 1;
    }
    raw.threads = i32::try_from(options.threads).map_err(|_| out_of_range("threads", options.threads as u64))?;
    raw.reset = i32::from(options.reset);
    Ok(raw)
}

/// What the C callback reaches through `user_data`: the closure, and a panic it raised.
struct CallbackState<'a, 'b> {
    progress: Option<&'b mut ProgressFn<'a>>,
    panic: Option<Box<dyn Any + Send + 'static>>,
}

unsafe extern "C" fn progress_trampoline(progress: *const sys::tt_progress, user_data: *mut c_void) -> c_int {
    // Nothing in here may unwind into C: the closure runs under catch_unwind.
    let state = &mut *(user_data as *mut CallbackState<'_, '_>);
    if state.panic.is_some() || progress.is_null() {
        return 1;
    }
    let Some(f) = state.progress.as_mut() else { return 0 };
    let report = Progress::from_raw(&*progress);
    match catch_unwind(AssertUnwindSafe(|| f(&report))) {
        Ok(ControlFlow::Continue(())) => 0,
        Ok(ControlFlow::Break(())) => 1,
        Err(payload) => {
            state.panic = Some(payload);
            1
        }
    }
}
