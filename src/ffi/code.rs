//! Result codes: one stable number per outcome, and their names.

use std::cell::{Cell, RefCell};
use std::ffi::c_char;

use crate::{Error, ErrorKind};

/// The result of a call, or how a request ended. Values are stable across releases:
/// new codes are only ever appended.
// This enum is the one list of codes: build.rs reads the names for `httpring_error_name`
// from it, the header is generated from it, and the bindings' tests compare their tables
// with `httpring_error_name`. Keep one `NAME = VALUE,` per line.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum httpring_code {
    /// Success.
    HTTPRING_OK = 0,
    /// The request has not completed yet (or a wait timed out first).
    HTTPRING_PENDING = 1,
    /// A NULL pointer, a bad length or an out-of-range value.
    HTTPRING_ERR_INVALID_ARGUMENT = 2,
    /// The handle is not live: never issued, already freed, or stale.
    HTTPRING_ERR_INVALID_HANDLE = 3,
    /// The handle was issued by a different client.
    HTTPRING_ERR_FOREIGN_HANDLE = 4,
    /// The URL is not UTF-8, does not parse, or has no host.
    HTTPRING_ERR_INVALID_URL = 5,
    /// The URL's scheme is not supported by this build.
    HTTPRING_ERR_UNSUPPORTED_SCHEME = 6,
    /// A header name or value is malformed (CR, LF, NUL, not a token, ...).
    HTTPRING_ERR_INVALID_HEADER = 7,
    /// The method is not a valid HTTP token.
    HTTPRING_ERR_INVALID_METHOD = 8,
    /// The host name did not resolve.
    HTTPRING_ERR_DNS = 9,
    /// The server refused the connection.
    HTTPRING_ERR_CONNECT_REFUSED = 10,
    /// Another failure to connect (unreachable network, ...).
    HTTPRING_ERR_CONNECT = 11,
    /// Connecting took longer than the connect timeout.
    HTTPRING_ERR_CONNECT_TIMEOUT = 12,
    /// The whole request took longer than the total timeout.
    HTTPRING_ERR_TIMEOUT = 13,
    /// The server sent nothing for longer than the read timeout.
    HTTPRING_ERR_READ_TIMEOUT = 14,
    /// The request was cancelled (by the caller, by freeing it, or by freeing the client).
    HTTPRING_ERR_CANCELLED = 15,
    /// The server broke HTTP (malformed response, body shorter than announced, ...).
    HTTPRING_ERR_PROTOCOL = 16,
    /// The connection failed after it was established (reset, broken pipe, ...).
    HTTPRING_ERR_IO = 17,
    /// The response body is larger than the configured maximum.
    HTTPRING_ERR_BODY_TOO_LARGE = 18,
    /// The client is closed or was never valid.
    HTTPRING_ERR_CLIENT_CLOSED = 19,
    /// The requested item (a header, ...) does not exist.
    HTTPRING_ERR_NOT_FOUND = 20,
    /// A bug in httpring (a caught panic). Please report it.
    HTTPRING_ERR_INTERNAL = 21,
    /// The server's certificate was rejected (untrusted, expired, wrong host name, ...);
    /// the message carries the verifier's reason.
    HTTPRING_ERR_TLS_CERTIFICATE = 22,
    /// Another TLS failure: handshake, protocol version, a client certificate the server
    /// required but did not get or refused.
    HTTPRING_ERR_TLS = 23,
    /// The proxy failed or refused the tunnel.
    HTTPRING_ERR_PROXY = 24,
    /// Redirects were followed past the limit.
    HTTPRING_ERR_TOO_MANY_REDIRECTS = 25,
    /// A redirect from https to plain http was refused (allow it with
    /// `httpring_config_set_redirect_allow_insecure`).
    HTTPRING_ERR_INSECURE_REDIRECT = 26,
    /// The response body could not be decoded: corrupt or truncated gzip, deflate, br or
    /// zstd data (turn decoding off with `httpring_config_set_decompress` to get raw bytes).
    HTTPRING_ERR_DECODING = 27,
    /// The request waited for a connection (under `httpring_config_set_max_connections*`)
    /// longer than the pool timeout.
    HTTPRING_ERR_POOL_TIMEOUT = 28,
    /// Writing the request stayed blocked longer than the write timeout (the server stopped
    /// reading).
    HTTPRING_ERR_WRITE_TIMEOUT = 29,
    /// The client already has its maximum of requests in flight
    /// (`httpring_config_set_max_in_flight`): the submit was refused, nothing was sent.
    HTTPRING_ERR_TOO_MANY_IN_FLIGHT = 30,
    /// A streamed request body failed: its callback returned an error, or the body gave
    /// fewer or more bytes than the length it declared.
    HTTPRING_ERR_BODY_SOURCE = 31,
}

use httpring_code::*;

include!(concat!(env!("OUT_DIR"), "/code_names.rs"));

impl From<ErrorKind> for httpring_code {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::InvalidArgument => HTTPRING_ERR_INVALID_ARGUMENT,
            ErrorKind::InvalidHandle => HTTPRING_ERR_INVALID_HANDLE,
            ErrorKind::ForeignHandle => HTTPRING_ERR_FOREIGN_HANDLE,
            ErrorKind::InvalidUrl => HTTPRING_ERR_INVALID_URL,
            ErrorKind::UnsupportedScheme => HTTPRING_ERR_UNSUPPORTED_SCHEME,
            ErrorKind::InvalidHeader => HTTPRING_ERR_INVALID_HEADER,
            ErrorKind::InvalidMethod => HTTPRING_ERR_INVALID_METHOD,
            ErrorKind::Dns => HTTPRING_ERR_DNS,
            ErrorKind::ConnectRefused => HTTPRING_ERR_CONNECT_REFUSED,
            ErrorKind::Connect => HTTPRING_ERR_CONNECT,
            ErrorKind::ConnectTimeout => HTTPRING_ERR_CONNECT_TIMEOUT,
            ErrorKind::Timeout => HTTPRING_ERR_TIMEOUT,
            ErrorKind::ReadTimeout => HTTPRING_ERR_READ_TIMEOUT,
            ErrorKind::Cancelled => HTTPRING_ERR_CANCELLED,
            ErrorKind::Protocol => HTTPRING_ERR_PROTOCOL,
            ErrorKind::Io => HTTPRING_ERR_IO,
            ErrorKind::BodyTooLarge => HTTPRING_ERR_BODY_TOO_LARGE,
            ErrorKind::ClientClosed => HTTPRING_ERR_CLIENT_CLOSED,
            ErrorKind::NotFound => HTTPRING_ERR_NOT_FOUND,
            ErrorKind::Pending => HTTPRING_PENDING,
            ErrorKind::Internal => HTTPRING_ERR_INTERNAL,
            ErrorKind::TlsCertificate => HTTPRING_ERR_TLS_CERTIFICATE,
            ErrorKind::Tls => HTTPRING_ERR_TLS,
            ErrorKind::Proxy => HTTPRING_ERR_PROXY,
            ErrorKind::TooManyRedirects => HTTPRING_ERR_TOO_MANY_REDIRECTS,
            ErrorKind::InsecureRedirect => HTTPRING_ERR_INSECURE_REDIRECT,
            ErrorKind::Decoding => HTTPRING_ERR_DECODING,
            ErrorKind::PoolTimeout => HTTPRING_ERR_POOL_TIMEOUT,
            ErrorKind::WriteTimeout => HTTPRING_ERR_WRITE_TIMEOUT,
            ErrorKind::TooManyInFlight => HTTPRING_ERR_TOO_MANY_IN_FLIGHT,
            ErrorKind::BodySource => HTTPRING_ERR_BODY_SOURCE,
        }
    }
}

impl From<Error> for httpring_code {
    /// A call failing with `e`: its message becomes this thread's last error message.
    fn from(e: Error) -> Self {
        note(e.message());
        e.kind().into()
    }
}

thread_local! {
    /// The message of the last failed call on this thread (`httpring_last_error_message`).
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
    /// A message was noted and no failing call has returned since: tells `guard_code`
    /// whether the call failing now said more than its code. (Thread-locals are only
    /// touched on error paths: each access costs a call in a shared library.)
    static FRESH: Cell<bool> = const { Cell::new(false) };
}

// `try_with` throughout: a call from a thread whose thread-locals are being destroyed (a
// C thread-exit destructor) keeps its result code, without a message.
fn note(message: &str) {
    let _ = LAST_ERROR.try_with(|m| {
        let mut m = m.borrow_mut();
        m.clear();
        m.push_str(message);
    });
    let _ = FRESH.try_with(|f| f.set(true));
}

/// Whether a message was noted since the last failing call returned (and clears it).
pub(crate) fn take_fresh() -> bool {
    FRESH.try_with(|f| f.replace(false)).unwrap_or(true)
}

/// A call failed with `code` without noting a message (a NULL argument, a freed client):
/// the code's name is the message, so an earlier call's is not taken for this one's.
pub(crate) fn note_code(code: httpring_code) {
    note(&code_name(code));
}

/// A call's step failed with `code`: unless that step noted a message of its own, the
/// code's name becomes the last error message. Either way the message stays fresh, so the
/// call's `guard_code` keeps it.
pub(crate) fn note_unless_fresh(code: httpring_code) {
    if take_fresh() {
        keep_fresh();
    } else {
        note_code(code);
    }
}

/// Marks the last error message as this call's own, so its `guard_code` keeps it: a call
/// whose last step to fail noted it before later steps cleared the mark.
pub(crate) fn keep_fresh() {
    let _ = FRESH.try_with(|f| f.set(true));
}

/// A code's name, as `httpring_error_name` gives it.
pub(crate) fn code_name(code: httpring_code) -> String {
    CODE_NAMES
        .get(code as usize)
        .copied()
        .unwrap_or(c"HTTPRING_UNKNOWN")
        .to_string_lossy()
        .into_owned()
}

/// Copies the message of the last call on this thread that failed (what went wrong, in
/// words: for `HTTPRING_ERR_INVALID_URL` from a submit, which URL and why) into `buf`
/// (`cap` bytes; may be NULL with cap 0), NUL-terminated and truncated to fit, and stores
/// its full length (without NUL) in `*len`: call with cap 0 to size the buffer. Calls that
/// succeed leave it as it is; a call that fails with nothing more to say than its code
/// leaves the code's name. After `httpring_client_send_many` it is the message of the last
/// request refused. Empty before any failure. A request that fails later, as it runs, has
/// its own message: `httpring_handle_error_message`.
///
/// # Safety
/// `buf` is valid for `cap` bytes; `len` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn httpring_last_error_message(
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> httpring_code {
    super::ptr::guard_code(|| {
        let copy = |text: &[u8]| unsafe { super::ptr::copy_out(text, buf, cap, len) };
        LAST_ERROR
            .try_with(|m| copy(m.borrow().as_bytes()))
            .unwrap_or_else(|_| copy(b""))?;
        Ok(httpring_code::HTTPRING_OK)
    })
}

/// `code` as the result of a call: a refusal it reports (a batch's first) fails the call,
/// so that the thread's last error message is that refusal's.
pub(crate) fn failed_unless_ok(code: httpring_code) -> Result<httpring_code, httpring_code> {
    match code {
        httpring_code::HTTPRING_OK => Ok(code),
        code => Err(code),
    }
}

impl From<&Error> for httpring_code {
    fn from(e: &Error) -> Self {
        e.kind().into()
    }
}

/// The name of a code, e.g. "HTTPRING_ERR_DNS". Never NULL: unknown values give
/// "HTTPRING_UNKNOWN". The string is static; do not free it.
#[no_mangle]
pub extern "C" fn httpring_error_name(code: u32) -> *const c_char {
    let name = usize::try_from(code)
        .ok()
        .and_then(|i| CODE_NAMES.get(i))
        .copied()
        .unwrap_or(c"HTTPRING_UNKNOWN");
    name.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_code_and_name() {
        use crate::ErrorKind::*;
        let kinds = [
            InvalidArgument,
            InvalidHandle,
            ForeignHandle,
            InvalidUrl,
            UnsupportedScheme,
            InvalidHeader,
            InvalidMethod,
            Dns,
            ConnectRefused,
            Connect,
            ConnectTimeout,
            Timeout,
            ReadTimeout,
            Cancelled,
            Protocol,
            Io,
            BodyTooLarge,
            ClientClosed,
            NotFound,
            Pending,
            Internal,
            TlsCertificate,
            Tls,
            Proxy,
            TooManyRedirects,
            InsecureRedirect,
            Decoding,
            PoolTimeout,
            WriteTimeout,
            TooManyInFlight,
            BodySource,
        ];
        let mut seen = std::collections::HashSet::new();
        for kind in kinds {
            let code = httpring_code::from(kind) as u32;
            assert!(seen.insert(code), "{kind:?} shares code {code}");
            let name = unsafe { std::ffi::CStr::from_ptr(httpring_error_name(code)) };
            let want = format!("{kind:?}")
                .chars()
                .fold(String::new(), |mut s, ch| {
                    if ch.is_uppercase() && !s.is_empty() {
                        s.push('_');
                    }
                    s.push(ch.to_ascii_uppercase());
                    s
                });
            let name = name.to_str().unwrap();
            assert!(name.ends_with(&want), "{kind:?} -> {name}");
        }
        // Every code but OK has a kind.
        assert_eq!(seen.len() + 1, CODE_NAMES.len());
        assert_eq!(CODE_NAMES[0], c"HTTPRING_OK");
        let unknown = unsafe { std::ffi::CStr::from_ptr(httpring_error_name(9999)) };
        assert_eq!(unknown, c"HTTPRING_UNKNOWN");
    }
}
