//! The handle table: opaque 64-bit ids that map to in-flight or completed exchanges.
//!
//! An id packs a slot index, the slot's generation and the owning client's tag, so a stale
//! id (slot freed and reused), a doubled free, or another client's id is recognised and
//! refused without touching freed memory. Id 0 is never issued.

use std::sync::{Arc, Mutex, MutexGuard};

use super::exchange::Exchange;
use crate::error::{Error, ErrorKind, Result};

const INDEX_BITS: u32 = 24;
const GEN_BITS: u32 = 24;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
const GEN_MASK: u64 = (1 << GEN_BITS) - 1;
/// The table refuses new handles beyond this many live ones.
pub(crate) const MAX_LIVE_HANDLES: usize = INDEX_MASK as usize;

/// A request handle as the caller sees it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Handle(pub u64);

impl Handle {
    fn new(tag: u16, gen: u32, index: u32) -> Handle {
        Handle(
            ((tag as u64) << (INDEX_BITS + GEN_BITS)) | ((gen as u64) << INDEX_BITS) | index as u64,
        )
    }
    fn index(self) -> usize {
        (self.0 & INDEX_MASK) as usize
    }
    fn gen(self) -> u32 {
        ((self.0 >> INDEX_BITS) & GEN_MASK) as u32
    }
    fn tag(self) -> u16 {
        (self.0 >> (INDEX_BITS + GEN_BITS)) as u16
    }
}

struct Slot {
    /// Bumped on every free, so old ids for this slot stop matching. Never 0 once issued.
    gen: u32,
    exchange: Option<Arc<Exchange>>,
}

#[derive(Default)]
struct Slots {
    entries: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
}

pub struct Table {
    tag: u16,
    slots: Mutex<Slots>,
}

impl Table {
    pub fn new(tag: u16) -> Table {
        Table {
            tag,
            slots: Mutex::new(Slots::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slots> {
        // A panic while holding this lock cannot leave the table half-updated (every
        // mutation is a single assignment), so a poisoned lock is still consistent.
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reserves a slot and stores what `make` builds for the new handle.
    pub fn insert_with(
        &self,
        make: impl FnOnce(Handle) -> Arc<Exchange>,
    ) -> Result<(Handle, Arc<Exchange>)> {
        let mut s = self.lock();
        let index = match s.free.pop() {
            Some(i) => i,
            None => {
                if s.entries.len() >= MAX_LIVE_HANDLES {
                    return Err(Error::new(
                        ErrorKind::InvalidArgument,
                        "too many live handles: free completed handles",
                    ));
                }
                s.entries.push(Slot {
                    gen: 1,
                    exchange: None,
                });
                (s.entries.len() - 1) as u32
            }
        };
        let gen = s.entries[index as usize].gen;
        let handle = Handle::new(self.tag, gen, index);
        let ex = make(handle);
        s.entries[index as usize].exchange = Some(ex.clone());
        s.live += 1;
        Ok((handle, ex))
    }

    pub fn tag(&self) -> u16 {
        self.tag
    }

    fn check(&self, h: Handle) -> Result<()> {
        if h.tag() == 0 {
            return Err(Error::invalid_handle());
        }
        if h.tag() != self.tag {
            return Err(Error::new(
                ErrorKind::ForeignHandle,
                "handle belongs to a different client",
            ));
        }
        Ok(())
    }

    /// The exchange behind a live handle.
    pub fn get(&self, h: Handle) -> Result<Arc<Exchange>> {
        self.check(h)?;
        let s = self.lock();
        match s.entries.get(h.index()) {
            Some(slot) if slot.gen == h.gen() => {
                slot.exchange.clone().ok_or_else(Error::invalid_handle)
            }
            _ => Err(Error::invalid_handle()),
        }
    }

    /// Whether `h` is live here; no clone, no error built (drain asks once per completion).
    pub fn contains(&self, h: Handle) -> bool {
        h.tag() == self.tag
            && self
                .lock()
                .entries
                .get(h.index())
                .is_some_and(|slot| slot.gen == h.gen() && slot.exchange.is_some())
    }

    /// Frees a handle; its id is never valid again.
    pub fn remove(&self, h: Handle) -> Result<Arc<Exchange>> {
        self.check(h)?;
        let mut s = self.lock();
        let slot = match s.entries.get_mut(h.index()) {
            Some(slot) if slot.gen == h.gen() && slot.exchange.is_some() => slot,
            _ => return Err(Error::invalid_handle()),
        };
        let ex = slot.exchange.take().expect("checked above");
        slot.gen = if slot.gen as u64 == GEN_MASK {
            1
        } else {
            slot.gen + 1
        };
        s.free.push(h.index() as u32);
        s.live -= 1;
        Ok(ex)
    }

    pub fn live(&self) -> usize {
        self.lock().live
    }

    /// Every live exchange (for closing the client).
    pub fn all(&self) -> Vec<Arc<Exchange>> {
        self.lock()
            .entries
            .iter()
            .filter_map(|s| s.exchange.clone())
            .collect()
    }
}
