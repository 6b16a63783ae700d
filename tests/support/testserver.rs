//! `testserver`: the project's local HTTP server for the C, Python and Zig tests and for
//! `make demo`. Prints `LISTENING <port>` once ready; runs until killed.
//!
//! Usage: testserver [--port N] [--pages N] [--delay-ms N] [--threads N] [--backlog N]

#[path = "server.rs"]
mod server;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

fn main() {
    let mut opts = server::Options::default();
    let mut port: u16 = 0;
    let mut threads: usize = 1;
    let mut backlog: u32 = 1024;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || -> u64 {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{flag} needs a number"))
        };
        match flag.as_str() {
            "--port" => port = value() as u16,
            "--pages" => opts.pages = value() as usize,
            "--delay-ms" => opts.page_delay = Duration::from_millis(value()),
            "--threads" => threads = value().max(1) as usize,
            "--backlog" => backlog = value().clamp(1, u32::MAX as u64) as u32,
            other => panic!("unknown flag {other}"),
        }
    }
    let rt = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
    .expect("runtime");
    rt.block_on(async move {
        // The kernel caps the backlog at net.core.somaxconn.
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        socket.bind(([127, 0, 0, 1], port).into()).expect("bind");
        let listener = socket.listen(backlog).expect("listen");
        let port = listener.local_addr().unwrap().port();
        println!("LISTENING {port}");
        std::io::stdout().flush().unwrap();
        server::serve(listener, Arc::new(opts), Arc::default()).await;
    });
}
