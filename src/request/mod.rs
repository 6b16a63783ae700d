//! Requests and their outcomes: the request a caller builds (`request`), the response it
//! gets (`response`), the exchange that carries one request from submit to completion
//! (`exchange`), a streamed body between the task and the caller (`stream`), a streamed request
//! body from the caller (`upload`), and the
//! generation-checked table of live handles (`handle`). Depends only
//! on `config` and `error`.

mod exchange;
mod handle;
mod multipart;
#[allow(clippy::module_inception)]
mod request;
mod response;
mod stream;
mod upload;

pub(crate) use exchange::TaskStop;
pub use exchange::{Completion, Event, Exchange, State};
pub use handle::Handle;
pub(crate) use handle::Table;
pub use multipart::Multipart;
pub(crate) use request::{parse_method_url, parse_url, with_fragment, Speeds};
pub use request::{Request, SpeedOverrides, TimeoutOverrides, UrlCache};
pub(crate) use response::{header_lines, Stamps};
pub use response::{Hop, Response, Timing};
pub(crate) use response::{Rest, MAX_PIECES};
pub use stream::{BodyStream, Chunk, Read};
pub(crate) use upload::UploadBody;
pub use upload::{Pull, PullFn, Upload};
