//! Builder objects the caller holds by pointer (configs, requests, multipart forms) are ids
//! in a table, as clients are (`registry.rs`): a pointer that was never issued, was freed
//! or was consumed by submit is looked up, not followed. Using one returns
//! `HTTPRING_ERR_INVALID_ARGUMENT`; freeing one again does nothing. Ids are never reused.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::code::httpring_code::{self, HTTPRING_ERR_INVALID_ARGUMENT};

const SHARDS: usize = 16;

/// Ids step by 16 so they look like aligned pointers. One counter for every table.
static NEXT_ID: AtomicUsize = AtomicUsize::new(1 << 20);

/// One shard: made on first use (a `HashMap` cannot be built in a `const`).
type Shard<T> = Mutex<Option<HashMap<usize, Box<T>>>>;

/// Live objects of one type by id, in shards so threads building separate objects rarely
/// meet on a lock.
pub(crate) struct Objects<T> {
    shards: [Shard<T>; SHARDS],
}

impl<T> Objects<T> {
    pub(crate) const fn new() -> Objects<T> {
        Objects {
            shards: [const { Mutex::new(None) }; SHARDS],
        }
    }

    fn shard(&self, id: usize) -> MutexGuard<'_, Option<HashMap<usize, Box<T>>>> {
        self.shards[(id >> 4) % SHARDS]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Takes every shard's lock, in order, into `held` (around a fork(): see
    /// `registry::before_fork`).
    pub(crate) fn hold_all(&'static self, held: &mut Vec<Box<dyn std::any::Any>>)
    where
        T: 'static,
    {
        for s in &self.shards {
            held.push(Box::new(s.lock().unwrap_or_else(|p| p.into_inner())));
        }
    }

    /// Keeps `value`; the pointer the caller gets is its id.
    pub(crate) fn insert(&self, value: T) -> *mut T {
        super::registry::handle_forks();
        let id = NEXT_ID.fetch_add(16, Ordering::Relaxed);
        self.shard(id)
            .get_or_insert_with(HashMap::new)
            .insert(id, Box::new(value));
        std::ptr::without_provenance_mut(id)
    }

    /// Runs `f` on the live object `p` names (under its shard's lock: `f` must not use this
    /// table again).
    pub(crate) fn with<R>(
        &self,
        p: *const T,
        f: impl FnOnce(&mut T) -> R,
    ) -> Result<R, httpring_code> {
        let id = p.addr();
        if id == 0 {
            return Err(HTTPRING_ERR_INVALID_ARGUMENT);
        }
        let mut shard = self.shard(id);
        let obj = shard
            .as_mut()
            .and_then(|m| m.get_mut(&id))
            .ok_or(HTTPRING_ERR_INVALID_ARGUMENT)?;
        Ok(f(obj))
    }

    /// Removes the object `p` names; None if it is not live.
    pub(crate) fn take(&self, p: *const T) -> Option<Box<T>> {
        let id = p.addr();
        if id == 0 {
            return None;
        }
        self.shard(id).as_mut()?.remove(&id)
    }
}
