//! A completed response, held by its handle until the handle is freed.
//!
//! Everything here is immutable once built, so borrowed pointers into it (body, header bytes,
//! URL) stay valid for as long as the handle lives.

use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::Version;

/// A redirect that was followed: the response's status and the URL that gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hop {
    pub status: u16,
    pub url: Bytes,
}

#[derive(Debug)]
pub struct Response {
    pub(crate) status: u16,
    pub(crate) version: Version,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) url: Bytes,
    pub(crate) elapsed: Duration,
    /// The redirects followed to get here, in order (empty when none were).
    pub(crate) hops: Vec<Hop>,
    /// Built on first use: headers in iteration order, for indexed access.
    list: OnceLock<Vec<(HeaderName, HeaderValue)>>,
    /// Built on first use: "name: value\r\n" lines, for bindings that parse in one call.
    block: OnceLock<Vec<u8>>,
}

impl Response {
    pub(crate) fn new(
        status: u16,
        version: Version,
        headers: HeaderMap,
        body: Bytes,
        url: Bytes,
        elapsed: Duration,
    ) -> Self {
        Response {
            status,
            version,
            headers,
            body,
            url,
            elapsed,
            hops: Vec::new(),
            list: OnceLock::new(),
            block: OnceLock::new(),
        }
    }

    /// The redirects followed before this response, first to last.
    pub fn redirects(&self) -> &[Hop] {
        &self.hops
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    pub fn version(&self) -> Version {
        self.version
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }

    pub fn url(&self) -> &[u8] {
        &self.url
    }

    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// Number of header lines (a name with two values counts twice).
    pub fn header_count(&self) -> usize {
        self.headers.len()
    }

    /// The `index`th header line, in the order the map iterates: names in order of first
    /// appearance, the values of one name together and in the order received.
    pub fn header_at(&self, index: usize) -> Option<(&[u8], &[u8])> {
        let list = self.list.get_or_init(|| {
            self.headers
                .iter()
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect()
        });
        list.get(index)
            .map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes()))
    }

    /// The `nth` value (0-based) of the header `name`, compared case-insensitively.
    pub fn header(&self, name: &[u8], nth: usize) -> Option<&[u8]> {
        let name = HeaderName::from_bytes(name).ok()?;
        self.headers
            .get_all(name)
            .iter()
            .nth(nth)
            .map(HeaderValue::as_bytes)
    }

    /// All headers as "name: value\r\n" lines (names lower-case).
    pub fn header_block(&self) -> &[u8] {
        self.block.get_or_init(|| {
            let mut out = Vec::with_capacity(self.headers.len() * 32);
            for (n, v) in &self.headers {
                out.extend_from_slice(n.as_str().as_bytes());
                out.extend_from_slice(b": ");
                out.extend_from_slice(v.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            out
        })
    }
}
