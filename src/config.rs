//! Client configuration: immutable once the client is built.

use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue, USER_AGENT};

use crate::error::{Error, ErrorKind, Result};

/// Settings for a [`crate::Client`]. `None` for a timeout means "no limit".
#[derive(Clone, Debug)]
pub struct Config {
    pub connect_timeout: Option<Duration>,
    /// Limit on the whole request, from submit to the last body byte.
    pub timeout: Option<Duration>,
    /// Limit on silence from the peer while a response is awaited or read.
    pub read_timeout: Option<Duration>,
    pub pool_idle_timeout: Option<Duration>,
    pub pool_max_idle_per_host: usize,
    /// Largest accepted response body in bytes.
    pub max_body_size: u64,
    /// 1 runs a current-thread runtime on one background thread (the fastest hand-off);
    /// more runs tokio's multi-thread scheduler with that many workers.
    pub worker_threads: usize,
    /// Sent with every request unless the request sets the same name.
    pub default_headers: HeaderMap,
}

impl Default for Config {
    fn default() -> Self {
        let mut default_headers = HeaderMap::new();
        default_headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("httpring/", env!("CARGO_PKG_VERSION"))),
        );
        Config {
            connect_timeout: Some(Duration::from_secs(10)),
            timeout: None,
            read_timeout: Some(Duration::from_secs(30)),
            pool_idle_timeout: Some(Duration::from_secs(90)),
            pool_max_idle_per_host: 256,
            max_body_size: 1 << 30,
            worker_threads: 1,
            default_headers,
        }
    }
}

impl Config {
    /// Adds a default header; repeated names accumulate values.
    pub fn add_default_header(&mut self, name: &[u8], value: &[u8]) -> Result<()> {
        let (name, value) = parse_header(name, value)?;
        self.default_headers.append(name, value);
        Ok(())
    }

    pub fn set_user_agent(&mut self, value: &[u8]) -> Result<()> {
        let (name, value) = parse_header(b"user-agent", value)?;
        self.default_headers.insert(name, value);
        Ok(())
    }
}

/// Validates one header: the name must be an HTTP token, the value must hold no CR, LF,
/// NUL or other control byte (tab allowed). This is the single gate for caller headers.
pub(crate) fn parse_header(name: &[u8], value: &[u8]) -> Result<(HeaderName, HeaderValue)> {
    let name = HeaderName::from_bytes(name).map_err(|_| {
        Error::new(
            ErrorKind::InvalidHeader,
            format!(
                "invalid header name {:?}: must be a non-empty HTTP token (no spaces, CR, LF, NUL or ':')",
                String::from_utf8_lossy(name)
            ),
        )
    })?;
    let value = HeaderValue::from_bytes(value).map_err(|_| {
        Error::new(
            ErrorKind::InvalidHeader,
            format!(
                "invalid value for header {name}: contains CR, LF, NUL or another control byte"
            ),
        )
    })?;
    Ok((name, value))
}

/// Converts a caller's millisecond count; 0 means "no limit".
pub fn millis(ms: u64) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(ms))
}
