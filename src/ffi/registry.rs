//! Live clients by id. A `httpring_client *` is an id, never dereferenced: a freed or
//! made-up client pointer is looked up, not followed, so it yields an error code.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, RwLock};

use super::client::httpring_client;
use super::code::httpring_code;
use crate::Client;

static CLIENTS: LazyLock<RwLock<HashMap<usize, Arc<Client>>>> = LazyLock::new(Default::default);
/// Ids step by 16 so they look like aligned pointers; they are never reused.
static NEXT_ID: AtomicUsize = AtomicUsize::new(16);

pub(crate) fn register(client: Client) -> *mut httpring_client {
    let id = NEXT_ID.fetch_add(16, Ordering::Relaxed);
    CLIENTS
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id, Arc::new(client));
    std::ptr::without_provenance_mut(id)
}

/// The live client behind `p`. Holding the returned `Arc` keeps it usable even if another
/// thread frees it meanwhile (the call then sees the client as closed).
pub(crate) fn lookup(p: *const httpring_client) -> Result<Arc<Client>, httpring_code> {
    if p.is_null() {
        return Err(httpring_code::HTTPRING_ERR_INVALID_ARGUMENT);
    }
    CLIENTS
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .get(&p.addr())
        .cloned()
        .ok_or(httpring_code::HTTPRING_ERR_CLIENT_CLOSED)
}

pub(crate) fn unregister(p: *const httpring_client) -> Result<Arc<Client>, httpring_code> {
    if p.is_null() {
        return Err(httpring_code::HTTPRING_ERR_INVALID_ARGUMENT);
    }
    CLIENTS
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&p.addr())
        .ok_or(httpring_code::HTTPRING_ERR_CLIENT_CLOSED)
}
