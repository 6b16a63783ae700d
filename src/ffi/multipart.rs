//! `httpring_multipart`: a `multipart/form-data` body built from fields and files, then set
//! on a request.

use std::ffi::c_char;

use super::code::httpring_code::{self, *};
use super::objects::Objects;
use super::ptr::{bytes, c_str, guard, guard_code, need, put};
use super::request::{self, httpring_request};
use crate::Multipart;

/// A form being built: fields and files in the order added. Set it on a request with
/// `httpring_request_set_multipart` (which copies it), then free it with
/// `httpring_multipart_free`. Not thread-safe: build it on one thread.
pub struct httpring_multipart {
    inner: Multipart,
}

/// Live forms (see `objects`).
pub(super) static FORMS: Objects<httpring_multipart> = Objects::new();

/// A new, empty form. Never NULL (NULL only if memory ran out).
#[no_mangle]
pub extern "C" fn httpring_multipart_new() -> *mut httpring_multipart {
    guard(std::ptr::null_mut(), || {
        FORMS.insert(httpring_multipart {
            inner: Multipart::new(),
        })
    })
}

/// Frees a form. NULL, and a form already freed, are ignored.
#[no_mangle]
pub extern "C" fn httpring_multipart_free(form: *mut httpring_multipart) {
    guard((), || drop(FORMS.take(form)));
}

fn with(
    form: *mut httpring_multipart,
    f: impl FnOnce(&mut Multipart) -> Result<(), httpring_code>,
) -> httpring_code {
    guard_code(|| FORMS.with(form, |m| f(&mut m.inner))?.map(|()| HTTPRING_OK))
}

/// A UTF-8 string argument (NULL is an error).
unsafe fn text<'a>(p: *const c_char) -> Result<&'a str, httpring_code> {
    let b = unsafe { c_str(p)? };
    std::str::from_utf8(b).map_err(|_| HTTPRING_ERR_INVALID_ARGUMENT)
}

/// An optional UTF-8 string argument (NULL is `None`).
unsafe fn optional<'a>(p: *const c_char) -> Result<Option<&'a str>, httpring_code> {
    if p.is_null() {
        return Ok(None);
    }
    unsafe { text(p) }.map(Some)
}

/// Adds a text field: `name` (UTF-8) and `len` bytes of `value` (copied).
///
/// # Safety
/// `name` is NULL or NUL-terminated; `value` is valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn httpring_multipart_add_field(
    form: *mut httpring_multipart,
    name: *const c_char,
    value: *const u8,
    len: usize,
) -> httpring_code {
    with(form, |m| {
        let (name, value) = unsafe { (text(name)?, bytes(value, len)?) };
        m.add_field(name, value.to_vec());
        Ok(())
    })
}

/// Adds a file part from memory (`len` bytes copied). `filename` may be NULL (no file name
/// is sent); `content_type` NULL means `application/octet-stream`. A content type with CR,
/// LF or another control byte is `HTTPRING_ERR_INVALID_HEADER`.
///
/// # Safety
/// Strings are NULL or NUL-terminated; `data` is valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn httpring_multipart_add_bytes(
    form: *mut httpring_multipart,
    name: *const c_char,
    data: *const u8,
    len: usize,
    filename: *const c_char,
    content_type: *const c_char,
) -> httpring_code {
    with(form, |m| {
        let (name, data) = unsafe { (text(name)?, bytes(data, len)?) };
        let (filename, ct) = unsafe { (optional(filename)?, optional(content_type)?) };
        m.add_bytes(name, data.to_vec(), filename, ct)
            .map_err(httpring_code::from)
    })
}

/// Adds a file part read now from `path` (the whole file, copied). `filename` NULL sends the
/// path's last component; `content_type` NULL means `application/octet-stream`. A file that
/// cannot be read is `HTTPRING_ERR_NOT_FOUND`.
///
/// # Safety
/// Strings are NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn httpring_multipart_add_file(
    form: *mut httpring_multipart,
    name: *const c_char,
    path: *const c_char,
    filename: *const c_char,
    content_type: *const c_char,
) -> httpring_code {
    with(form, |m| {
        let (name, path) = unsafe { (text(name)?, text(path)?) };
        let (filename, ct) = unsafe { (optional(filename)?, optional(content_type)?) };
        m.add_file(name, std::path::Path::new(path), filename, ct)
            .map_err(httpring_code::from)
    })
}

/// The form's body and `Content-Type` value as `httpring_request_set_multipart` sends them
/// (the same boundary), for a caller that shows or logs the request: `*body`/`*body_len` and
/// `*content_type`/`*content_type_len` (not NUL-terminated), borrowed until the form is
/// changed or freed.
///
/// # Safety
/// The out-pointers are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn httpring_multipart_encoded(
    form: *const httpring_multipart,
    body: *mut *const u8,
    body_len: *mut usize,
    content_type: *mut *const u8,
    content_type_len: *mut usize,
) -> httpring_code {
    guard_code(|| {
        let (b, bl, c, cl) = (
            need(body)?,
            need(body_len)?,
            need(content_type)?,
            need(content_type_len)?,
        );
        // Pointers into the form's kept encoding: valid until the form is changed or freed.
        let (data, dl, ctype, ctl) = FORMS.with(form, |m| {
            let (data, ctype) = m.inner.encoded();
            (data.as_ptr(), data.len(), ctype.as_ptr(), ctype.len())
        })?;
        unsafe {
            put(b, data);
            put(bl, dl);
            put(c, ctype);
            put(cl, ctl);
        }
        Ok(HTTPRING_OK)
    })
}

/// Makes the form the request's body (encoded now, so later changes to the form do not
/// reach the request): `Content-Type: multipart/form-data; boundary=…` (replacing one set
/// before) and a `Content-Length`. Send it with POST or PUT.
///
/// # Safety
/// `req` and `form` are NULL or live, not used by another thread during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_request_set_multipart(
    req: *mut httpring_request,
    form: *const httpring_multipart,
) -> httpring_code {
    request::with(req, |r| FORMS.with(form, |m| r.set_multipart(&m.inner)))
}
