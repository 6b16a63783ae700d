//! Error kinds and the error value carried by failed calls and failed requests.
//!
//! The kinds are stable: the C layer maps each one to a fixed `httpring_code`, so a
//! variant may be added but never renumbered or removed.

use std::fmt;

/// What went wrong, in the coarse classes a caller branches on.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A NULL pointer, a zero-length buffer where one is required, an out-of-range value.
    InvalidArgument,
    /// The handle is not (or no longer) live in this client: never issued, freed, or stale.
    InvalidHandle,
    /// The handle was issued by a different client.
    ForeignHandle,
    /// The URL is not valid UTF-8, does not parse, or has no host.
    InvalidUrl,
    /// The URL's scheme is not one this build can speak.
    UnsupportedScheme,
    /// A header name or value is malformed (CR, LF, NUL, non-token name, ...).
    InvalidHeader,
    /// The method is not a valid HTTP token.
    InvalidMethod,
    /// The host name did not resolve.
    Dns,
    /// The peer refused the TCP connection.
    ConnectRefused,
    /// Any other failure to establish a connection.
    Connect,
    /// The connection was not established within the connect timeout.
    ConnectTimeout,
    /// The whole request did not finish within the total timeout.
    Timeout,
    /// The peer sent nothing for longer than the read (idle) timeout.
    ReadTimeout,
    /// The request was cancelled by the caller.
    Cancelled,
    /// The peer broke HTTP: a malformed response, a body shorter than announced, ...
    Protocol,
    /// The connection failed after it was established (reset, broken pipe, ...).
    Io,
    /// The response body exceeded the configured maximum.
    BodyTooLarge,
    /// The client was closed while the request was in flight, or before the call.
    ClientClosed,
    /// Something asked for (a header, a value) is not there.
    NotFound,
    /// The request has not completed yet.
    Pending,
    /// A bug in httpring (a caught panic). Please report it.
    Internal,
    /// The server's certificate was rejected (untrusted, expired, wrong name, ...).
    TlsCertificate,
    /// Any other TLS failure (handshake, alert from the peer, client certificate refused).
    Tls,
    /// The proxy refused or failed the tunnel.
    Proxy,
    /// More redirects than the limit.
    TooManyRedirects,
    /// A redirect from https to plain http, refused by the redirect policy.
    InsecureRedirect,
    /// The response body could not be decoded (corrupt or truncated gzip, deflate, br, zstd).
    Decoding,
    /// The request waited in the connection queue (the connection caps) past the pool timeout.
    PoolTimeout,
    /// A write to the server stayed blocked past the write timeout (the server stopped reading).
    WriteTimeout,
    /// The client's cap on requests in flight was reached: the submit was refused.
    TooManyInFlight,
    /// A streamed request body failed: its callback reported an error, or it gave fewer or
    /// more bytes than the length it declared.
    BodySource,
}

/// An error: a kind to branch on and a message for humans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    /// Failed before any byte of a response (the request may have reached the server).
    unanswered: bool,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            unanswered: false,
        }
    }

    /// Marks a failure that came before any byte of a response.
    pub(crate) fn unanswered(mut self) -> Self {
        self.unanswered = true;
        self
    }

    /// Whether the failure came before any byte of a response (see `unanswered`).
    pub fn is_unanswered(&self) -> bool {
        self.unanswered
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn invalid_handle() -> Self {
        Error::new(
            ErrorKind::InvalidHandle,
            "handle is not live (never issued, already freed, or stale)",
        )
    }

    pub(crate) fn closed() -> Self {
        Error::new(ErrorKind::ClientClosed, "the client is closed")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
