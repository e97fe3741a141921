//! `ModelSlot`: the model a service answers with, replaced while queries run (the C API's
//! `tt_model_slot`; docs/c-api.md, "Replacing a served model").
use std::ops::Deref;
use std::ptr::{self, NonNull};

use twotower_sys as sys;

use crate::error::{check, Result};
use crate::model::Model;

/// Holds the current model; threads [`acquire`](ModelSlot::acquire) it per request while a
/// reloader [`replace`](ModelSlot::replace)s it. The library counts references: a replaced
/// model is freed when the last [`SharedModel`] acquired from it is dropped. Its mutex is held
/// only to copy a pointer and count a reference, never during a query, so neither side starves
/// the other. `Send` and `Sync`: share it with `Arc<ModelSlot>` or a `static`.
///
/// ```no_run
/// # fn main() -> twotower::Result<()> {
/// let slot = twotower::ModelSlot::new(Some(twotower::Model::load("model.tt")?))?;
/// let (model, generation) = slot.acquire()?; // per request; dropped at its end
/// slot.replace(Some(twotower::Model::load("model.tt")?))?; // on reload
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ModelSlot {
    raw: NonNull<sys::tt_model_slot>,
}

// SAFETY: the slot is internally synchronised (every function may be called from any thread);
// the handle is not tied to a thread.
unsafe impl Send for ModelSlot {}
unsafe impl Sync for ModelSlot {}

impl Drop for ModelSlot {
    fn drop(&mut self) {
        // SAFETY: we own the handle; it is freed once. Acquired models hold their own references.
        unsafe { sys::tt_model_slot_free(self.raw.as_ptr()) }
    }
}

/// A model acquired from a [`ModelSlot`]: read-only (`Deref<Target = Model>`), since other
/// threads may be querying it; dropping it releases the reference.
#[derive(Debug)]
pub struct SharedModel {
    model: Model,
}

impl Deref for SharedModel {
    type Target = Model;
    fn deref(&self) -> &Model {
        &self.model
    }
}

impl ModelSlot {
    /// A slot holding `model` (taken over: nobody may retrain a model that queries read), or
    /// empty. The first model's generation is 1.
    pub fn new(model: Option<Model>) -> Result<ModelSlot> {
        crate::ensure_abi()?;
        let mut model = model;
        let ptr = model.as_mut().map_or(ptr::null_mut(), Model::as_mut_ptr);
        let mut raw = ptr::null_mut();
        // SAFETY: a valid (or NULL) model and out-pointer; the slot retains the model, and our
        // reference is released when `model` drops.
        check(unsafe { sys::tt_model_slot_create(ptr, &mut raw) })?;
        Ok(ModelSlot { raw: NonNull::new(raw).expect("the library returned TT_OK with a NULL slot") })
    }

    /// The current model and its generation (the number of models installed so far, counting
    /// this one). An empty slot is an error.
    pub fn acquire(&self) -> Result<(SharedModel, u64)> {
        let mut generation = 0u64;
        // SAFETY: a valid slot and out-pointers; the library retains the model for us, and the
        // Model's drop releases that reference.
        let model =
            Model::create(|out| unsafe { sys::tt_model_slot_acquire(self.raw.as_ptr(), out, &mut generation) })?;
        Ok((SharedModel { model }, generation))
    }

    /// Installs `model` (taken over; `None` empties the slot) and returns its generation.
    /// Threads that acquired the previous model keep it until they drop it.
    pub fn replace(&self, model: Option<Model>) -> Result<u64> {
        let mut model = model;
        let ptr = model.as_mut().map_or(ptr::null_mut(), Model::as_mut_ptr);
        let mut generation = 0u64;
        // SAFETY: a valid slot, a valid (or NULL) model and out-pointer.
        check(unsafe { sys::tt_model_slot_replace(self.raw.as_ptr(), ptr, &mut generation) })?;
        Ok(generation)
    }
}
