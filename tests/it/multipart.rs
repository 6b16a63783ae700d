//! multipart/form-data bodies built by the engine, parsed on the server by multer (a real
//! parser): fields, in-memory files and files from disk, byte for byte.

use crate::common;

use std::time::Duration;

use common::TestServer;
use httpring::{Client, Config, Multipart, Request, State};

fn crc(data: &[u8]) -> String {
    let mut c = flate2::Crc::new();
    c.update(data);
    format!("{:08x}", c.sum())
}

fn post(client: &Client, url: &str, form: &Multipart) -> (u16, String) {
    let mut req = Request::new(b"POST", url.as_bytes());
    req.set_multipart(form);
    let h = client.submit(req).unwrap();
    assert_eq!(
        client.wait(h, Some(Duration::from_secs(10))).unwrap(),
        State::Done
    );
    let ex = client.exchange(h).unwrap();
    let r = ex.outcome().unwrap().as_ref().unwrap();
    let out = (r.status(), String::from_utf8_lossy(r.body()).into_owned());
    drop(ex);
    client.free(h).unwrap();
    out
}

#[test]
fn fields_and_files_arrive_byte_exact() {
    let s = TestServer::start();
    let c = Client::new(Config::default()).unwrap();
    // Binary content that holds CRLF, dashes and what a boundary line looks like.
    let blob: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .chain(b"\r\n--httpring-\r\n--".iter().copied())
        .collect();
    let dir = std::env::temp_dir().join(format!("httpring-mp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("report.csv");
    std::fs::write(&path, b"a,b\n1,2\n").unwrap();

    let mut form = Multipart::new();
    form.add_field("title", "caf\u{e9} \"quoted\"");
    form.add_bytes("blob", blob.clone(), Some("data.bin"), None)
        .unwrap();
    form.add_bytes("img", &b"\x89PNG"[..], Some("a b.png"), Some("image/png"))
        .unwrap();
    form.add_file("csv", &path, None, Some("text/csv")).unwrap();
    let (status, body) = post(&c, &s.url("/multipart"), &form);
    assert_eq!(status, 200, "{body}");
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(
        lines,
        [
            format!(
                "title|||{}|{}",
                "caf\u{e9} \"quoted\"".len(),
                crc("caf\u{e9} \"quoted\"".as_bytes())
            ),
            format!(
                "blob|data.bin|application/octet-stream|{}|{}",
                blob.len(),
                crc(&blob)
            ),
            format!("img|a b.png|image/png|4|{}", crc(b"\x89PNG")),
            format!("csv|report.csv|text/csv|8|{}", crc(b"a,b\n1,2\n")),
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_files_and_bad_content_types_are_refused() {
    let mut form = Multipart::new();
    let err = form
        .add_file("f", std::path::Path::new("/no/such/file"), None, None)
        .unwrap_err();
    assert_eq!(err.kind(), httpring::ErrorKind::NotFound);
    let err = form
        .add_bytes("f", &b""[..], None, Some("text/plain\r\nX-Evil: 1"))
        .unwrap_err();
    assert_eq!(err.kind(), httpring::ErrorKind::InvalidHeader);
}
