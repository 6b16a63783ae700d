//! The readiness signal behind the completion fd: readable while completions wait.
//!
//! An eventfd on Linux (one descriptor, a counter); a self-pipe elsewhere (a byte written to
//! raise it, read back to clear it), which every POSIX system has. `HTTPRING_SIGNAL=pipe` in
//! the environment forces the pipe on Linux too, so the portable path is tested here.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::OnceLock;

use crate::error::{Error, ErrorKind, Result};

pub(crate) struct Signal {
    /// What the caller watches (the eventfd, or the pipe's read end).
    read: OwnedFd,
    /// The pipe's write end; None for an eventfd (raised through `read` itself).
    write: Option<OwnedFd>,
}

fn use_pipe() -> bool {
    static PIPE: OnceLock<bool> = OnceLock::new();
    *PIPE.get_or_init(|| {
        !cfg!(target_os = "linux")
            || std::env::var_os("HTTPRING_SIGNAL").is_some_and(|v| v == "pipe")
    })
}

fn failed(what: &str, e: rustix::io::Errno) -> Error {
    Error::new(ErrorKind::Internal, format!("{what}: {e}"))
}

impl Signal {
    pub(crate) fn new() -> Result<Signal> {
        if use_pipe() {
            return Signal::pipe();
        }
        #[cfg(target_os = "linux")]
        {
            use rustix::event::{eventfd, EventfdFlags};
            let fd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)
                .map_err(|e| failed("eventfd", e))?;
            Ok(Signal {
                read: fd,
                write: None,
            })
        }
        #[cfg(not(target_os = "linux"))]
        unreachable!("the pipe is used off Linux")
    }

    fn pipe() -> Result<Signal> {
        use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};
        use rustix::io::{fcntl_setfd, FdFlags};
        let (read, write) = rustix::pipe::pipe().map_err(|e| failed("pipe", e))?;
        for fd in [&read, &write] {
            fcntl_setfd(fd, FdFlags::CLOEXEC).map_err(|e| failed("fcntl", e))?;
            let flags = fcntl_getfl(fd).map_err(|e| failed("fcntl", e))?;
            fcntl_setfl(fd, flags | OFlags::NONBLOCK).map_err(|e| failed("fcntl", e))?;
        }
        Ok(Signal {
            read,
            write: Some(write),
        })
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }

    /// Makes the fd readable. (A full counter or pipe already is: EAGAIN is fine.)
    pub(crate) fn raise(&self) {
        match &self.write {
            None => {
                let _ = rustix::io::write(&self.read, &1u64.to_ne_bytes());
            }
            Some(w) => {
                let _ = rustix::io::write(w, &[1u8]);
            }
        }
    }

    /// Makes the fd unreadable.
    pub(crate) fn clear(&self) {
        match &self.write {
            None => {
                let mut buf = [0u8; 8];
                let _ = rustix::io::read(&self.read, &mut buf);
            }
            Some(_) => {
                let mut buf = [0u8; 64];
                while matches!(rustix::io::read(&self.read, &mut buf), Ok(n) if n == buf.len()) {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readable(fd: BorrowedFd<'_>) -> bool {
        use rustix::event::{PollFd, PollFlags, Timespec};
        let mut p = [PollFd::from_borrowed_fd(fd, PollFlags::IN)];
        let zero = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        rustix::event::poll(&mut p, Some(&zero)).unwrap() == 1
    }

    #[test]
    fn both_kinds_are_readable_while_raised() {
        for s in [Signal::pipe().unwrap(), Signal::new().unwrap()] {
            assert!(!readable(s.fd()));
            s.raise();
            s.raise();
            assert!(readable(s.fd()));
            s.clear();
            assert!(!readable(s.fd()));
        }
        // Many raises (more than one read's worth for the pipe) clear at once.
        let s = Signal::pipe().unwrap();
        for _ in 0..1000 {
            s.raise();
        }
        s.clear();
        assert!(!readable(s.fd()));
    }
}
