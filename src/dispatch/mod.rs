//! Running requests: the inbox submitted requests wait in (`inbox`), the background runtime
//! (`runtime`), the task that runs one request on a connection (`exec`), the completion hub
//! that publishes outcomes to drain, wait and callbacks (`completion`), and what all of
//! them share with the client (`shared`). The top of the engine below `client`.

mod completion;
mod exec;
mod inbox;
mod runtime;
mod shared;
mod signal;
mod speed;

pub use completion::Callback;
pub(crate) use completion::Hub;
pub(crate) use runtime::Runtime;
pub(crate) use shared::Shared;
