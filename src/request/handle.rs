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

#[cfg(test)]
mod tests {
    use super::*;

    fn insert(t: &Table, user_data: u64) -> (Handle, Arc<Exchange>) {
        t.insert_with(|h| Arc::new(Exchange::new(h, user_data, None)))
            .expect("a slot is free")
    }

    fn kind<T>(r: Result<T>) -> ErrorKind {
        match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.kind(),
        }
    }

    #[test]
    fn ids_are_never_zero_and_carry_the_tag() {
        let t = Table::new(7);
        for i in 0..100 {
            let (h, ex) = insert(&t, i);
            assert_ne!(h.0, 0);
            assert_eq!(h.tag(), 7);
            assert_eq!(ex.handle, h, "the exchange is built for its own handle");
        }
    }

    #[test]
    fn get_returns_the_exchange_made_for_the_handle() {
        let t = Table::new(1);
        let (a, ex_a) = insert(&t, 10);
        let (b, ex_b) = insert(&t, 20);
        assert_ne!(a, b);
        let got_a = t.get(a).unwrap();
        let got_b = t.get(b).unwrap();
        assert!(Arc::ptr_eq(&got_a, &ex_a));
        assert!(Arc::ptr_eq(&got_b, &ex_b));
        assert_eq!(got_a.user_data(), 10);
        assert_eq!(got_b.user_data(), 20);
        assert!(t.contains(a) && t.contains(b));
    }

    #[test]
    fn a_freed_handle_is_refused() {
        let t = Table::new(1);
        let (h, ex) = insert(&t, 5);
        let removed = t.remove(h).unwrap();
        assert!(Arc::ptr_eq(&removed, &ex));
        assert_eq!(kind(t.get(h)), ErrorKind::InvalidHandle);
        assert!(!t.contains(h));
    }

    #[test]
    fn a_double_remove_fails_the_second_time() {
        let t = Table::new(1);
        let (h, _) = insert(&t, 0);
        assert!(t.remove(h).is_ok());
        assert_eq!(kind(t.remove(h)), ErrorKind::InvalidHandle);
        assert_eq!(t.live(), 0, "the failed remove did not count twice");
    }

    #[test]
    fn a_stale_handle_is_refused_after_its_slot_is_reused() {
        let t = Table::new(3);
        let (old, _) = insert(&t, 1);
        t.remove(old).unwrap();
        let (new, ex_new) = insert(&t, 2);
        // Same slot, next generation: a different id.
        assert_eq!(new.index(), old.index(), "the freed slot is reused");
        assert_eq!(new.gen(), old.gen() + 1);
        assert_ne!(new, old);
        assert_eq!(kind(t.get(old)), ErrorKind::InvalidHandle);
        assert!(!t.contains(old));
        // Freeing the stale id must not free the slot's new occupant.
        assert_eq!(kind(t.remove(old)), ErrorKind::InvalidHandle);
        assert!(Arc::ptr_eq(&t.get(new).unwrap(), &ex_new));
        assert_eq!(t.live(), 1);
    }

    #[test]
    fn slot_reuse_keeps_ids_distinct() {
        let t = Table::new(9);
        let mut seen = std::collections::HashSet::new();
        let (mut h, _) = insert(&t, 0);
        assert!(seen.insert(h));
        for i in 1..1000 {
            t.remove(h).unwrap();
            h = insert(&t, i).0;
            assert!(seen.insert(h), "id {:#x} issued twice", h.0);
        }
        // One slot was used throughout.
        assert_eq!(t.lock().entries.len(), 1);
    }

    #[test]
    fn another_clients_handle_is_foreign() {
        let a = Table::new(1);
        let b = Table::new(2);
        let (ha, ex_a) = insert(&a, 1);
        let (hb, _) = insert(&b, 2);
        // Same slot and generation, different tag.
        assert_eq!((ha.index(), ha.gen()), (hb.index(), hb.gen()));
        assert_eq!(kind(a.get(hb)), ErrorKind::ForeignHandle);
        assert_eq!(kind(a.remove(hb)), ErrorKind::ForeignHandle);
        assert!(!a.contains(hb));
        // The refused remove left a's own entry alone.
        assert_eq!(a.live(), 1);
        assert!(Arc::ptr_eq(&a.get(ha).unwrap(), &ex_a));
    }

    #[test]
    fn ids_never_issued_are_invalid() {
        let t = Table::new(4);
        assert_eq!(kind(t.get(Handle(0))), ErrorKind::InvalidHandle);
        assert_eq!(kind(t.remove(Handle(0))), ErrorKind::InvalidHandle);
        // Right tag, slot never allocated.
        let h = Handle::new(4, 1, 12345);
        assert_eq!(kind(t.get(h)), ErrorKind::InvalidHandle);
        assert_eq!(kind(t.remove(h)), ErrorKind::InvalidHandle);
        // Right tag and slot, generation never issued.
        let (live, _) = insert(&t, 0);
        let h = Handle::new(4, live.gen() + 5, live.index() as u32);
        assert_eq!(kind(t.get(h)), ErrorKind::InvalidHandle);
        assert!(!t.contains(h));
    }

    #[test]
    fn live_counts_inserts_and_removes() {
        let t = Table::new(1);
        assert_eq!(t.live(), 0);
        let hs: Vec<Handle> = (0..5).map(|i| insert(&t, i).0).collect();
        assert_eq!(t.live(), 5);
        t.remove(hs[1]).unwrap();
        t.remove(hs[3]).unwrap();
        assert_eq!(t.live(), 3);
        let _ = t.remove(hs[3]);
        assert_eq!(t.live(), 3);
        insert(&t, 9);
        assert_eq!(t.live(), 4);
    }

    #[test]
    fn all_returns_exactly_the_live_exchanges() {
        let t = Table::new(1);
        assert!(t.all().is_empty());
        let hs: Vec<Handle> = (0..4).map(|i| insert(&t, 100 + i).0).collect();
        t.remove(hs[0]).unwrap();
        t.remove(hs[2]).unwrap();
        let mut data: Vec<u64> = t.all().iter().map(|ex| ex.user_data()).collect();
        data.sort_unstable();
        assert_eq!(data, vec![101, 103]);
        let handles: Vec<Handle> = t.all().iter().map(|ex| ex.handle).collect();
        assert!(handles.contains(&hs[1]) && handles.contains(&hs[3]));
    }
}
