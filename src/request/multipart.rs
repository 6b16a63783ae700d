//! `multipart/form-data` bodies (RFC 7578): text fields and files, encoded at once into one
//! body with a known length.
//!
//! Written here rather than taken from a crate: the maintained multipart crates parse
//! (multer, used by the tests to check this output) or stream inside another client
//! (reqwest's is private); building is a boundary and a few headers. Names and file names are
//! escaped as the WHATWG form encoding does (`"` → `%22`, CR → `%0D`, LF → `%0A`).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{Error, ErrorKind, Result};

/// One part: a field name, its bytes, and for files a file name and content type.
#[derive(Clone, Debug)]
struct Part {
    name: String,
    data: Bytes,
    filename: Option<String>,
    content_type: Option<String>,
}

/// A `multipart/form-data` body being built. Parts keep the order they were added in.
#[derive(Clone, Debug, Default)]
pub struct Multipart {
    parts: Vec<Part>,
    /// The encoding, made on first use and kept until a part is added: every reader (the
    /// request it is set on, `httpring_multipart_encoded`) sees the same boundary.
    encoded: std::sync::OnceLock<(Bytes, String)>,
}

impl Multipart {
    pub fn new() -> Multipart {
        Multipart::default()
    }

    /// A text field (`Content-Disposition: form-data; name="…"`, no content type).
    pub fn add_field(&mut self, name: &str, value: impl Into<Bytes>) {
        self.encoded = std::sync::OnceLock::new();
        self.parts.push(Part {
            name: name.to_string(),
            data: value.into(),
            filename: None,
            content_type: None,
        });
    }

    /// A file part from memory. The content type defaults to `application/octet-stream`.
    pub fn add_bytes(
        &mut self,
        name: &str,
        data: impl Into<Bytes>,
        filename: Option<&str>,
        content_type: Option<&str>,
    ) -> Result<()> {
        if let Some(ct) = content_type {
            check_content_type(ct)?;
        }
        self.encoded = std::sync::OnceLock::new();
        self.parts.push(Part {
            name: name.to_string(),
            data: data.into(),
            filename: filename.map(str::to_string),
            content_type: content_type.map(str::to_string),
        });
        Ok(())
    }

    /// A file part read now from `path`; the file name defaults to the path's last component.
    pub fn add_file(
        &mut self,
        name: &str,
        path: &Path,
        filename: Option<&str>,
        content_type: Option<&str>,
    ) -> Result<()> {
        let data = std::fs::read(path).map_err(|e| {
            Error::new(
                ErrorKind::NotFound,
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        let base = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let filename = filename.map(str::to_string).or(base);
        self.add_bytes(
            name,
            data,
            filename.as_deref().or(Some("file")),
            content_type,
        )
    }

    /// The body and its `Content-Type` (with the boundary). The boundary is random and
    /// checked against every part, so no content can end a part early. The same until a
    /// part is added.
    pub fn encode(&self) -> (Bytes, String) {
        self.encoded().clone()
    }

    /// [`Multipart::encode`] by reference: valid until the form is changed.
    pub fn encoded(&self) -> &(Bytes, String) {
        self.encoded.get_or_init(|| self.encode_new())
    }

    fn encode_new(&self) -> (Bytes, String) {
        let boundary = loop {
            let b = random_boundary();
            if !self.parts.iter().any(|p| contains(&p.data, b.as_bytes())) {
                break b;
            }
        };
        let size: usize = self
            .parts
            .iter()
            .map(|p| p.data.len() + p.name.len() + 160)
            .sum();
        let mut out = BytesMut::with_capacity(size + boundary.len() + 8);
        for p in &self.parts {
            out.put_slice(b"--");
            out.put_slice(boundary.as_bytes());
            out.put_slice(b"\r\nContent-Disposition: form-data; name=\"");
            out.put_slice(escape(&p.name).as_bytes());
            out.put_slice(b"\"");
            if let Some(f) = &p.filename {
                out.put_slice(b"; filename=\"");
                out.put_slice(escape(f).as_bytes());
                out.put_slice(b"\"");
            }
            out.put_slice(b"\r\n");
            if p.filename.is_some() || p.content_type.is_some() {
                out.put_slice(b"Content-Type: ");
                out.put_slice(
                    p.content_type
                        .as_deref()
                        .unwrap_or("application/octet-stream")
                        .as_bytes(),
                );
                out.put_slice(b"\r\n");
            }
            out.put_slice(b"\r\n");
            out.put_slice(&p.data);
            out.put_slice(b"\r\n");
        }
        out.put_slice(b"--");
        out.put_slice(boundary.as_bytes());
        out.put_slice(b"--\r\n");
        let content_type = format!("multipart/form-data; boundary={boundary}");
        (out.freeze(), content_type)
    }
}

fn escape(s: &str) -> String {
    s.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn check_content_type(ct: &str) -> Result<()> {
    if ct.is_empty() || ct.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(Error::new(
            ErrorKind::InvalidHeader,
            "a part's content type may not be empty or hold CR, LF or control bytes",
        ));
    }
    Ok(())
}

fn random_boundary() -> String {
    let mut words = [0u64; 2];
    for w in &mut words {
        // RandomState is seeded from the OS once per process and varies per instance.
        let mut h = RandomState::new().build_hasher();
        h.write_u64(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0),
        );
        *w = h.finish();
    }
    format!("httpring-{:016x}{:016x}", words[0], words[1])
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_escaping() {
        let mut m = Multipart::new();
        m.add_field("a", "1");
        m.add_bytes(
            "f\"x",
            &b"\x00\xff"[..],
            Some("r\r\n.bin"),
            Some("image/png"),
        )
        .unwrap();
        let (body, ct) = m.encode();
        let boundary = ct.strip_prefix("multipart/form-data; boundary=").unwrap();
        let want = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"f%22x\"; filename=\"r%0D%0A.bin\"\r\n\
             Content-Type: image/png\r\n\r\n\x00\u{fffd}\r\n--{b}--\r\n",
            b = boundary
        );
        let got = String::from_utf8_lossy(&body);
        assert_eq!(got, want);
        assert!(m.add_bytes("x", "", None, Some("a\r\nb")).is_err());
    }

    #[test]
    fn boundaries_differ_and_never_occur_in_content() {
        let a = random_boundary();
        let b = random_boundary();
        assert_ne!(a, b);
        let mut m = Multipart::new();
        m.add_field("x", "payload");
        let (body, ct) = m.encode();
        let boundary = ct.rsplit('=').next().unwrap();
        assert_eq!(
            body.windows(boundary.len())
                .filter(|w| *w == boundary.as_bytes())
                .count(),
            2
        );
    }
}
