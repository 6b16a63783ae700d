//! Structs the caller allocates: each starts with `uint32_t struct_size`, which the caller
//! sets to `sizeof` the struct as its program was compiled. The library touches only the
//! fields of the versions that fit in that size, so a struct can gain fields at its end
//! without breaking programs compiled against an older header (docs/ABI.md).
//!
//! Arrays use element 0's `struct_size` as the stride for every element; output arrays get
//! the same value written back into each element filled, so an array can be reused as is.

use std::mem::size_of;

use super::code::httpring_code::{self, HTTPRING_ERR_INVALID_ARGUMENT};

/// A caller-sized struct.
///
/// # Safety
/// The type is `#[repr(C)]`, its first field is `struct_size: u32`, and `SIZES` lists the
/// `sizeof` of each released version in ascending order, the last being `size_of::<Self>()`.
/// A new version appends fields and must make `sizeof` grow (a field that would fit in
/// the old tail padding could not be told apart by size).
pub(crate) unsafe trait CallerSized: Copy {
    /// `sizeof` of version 1, 2, ...
    const SIZES: &'static [usize];
    /// Version 1's size: the smallest `struct_size` accepted.
    const V1: usize = Self::SIZES[0];
}

/// Implements `CallerSized` for a struct whose only version so far is the current one.
macro_rules! caller_sized_v1 {
    ($($t:ty),*) => {$(
        // SAFETY: repr(C), `struct_size: u32` first (checked by `layout_rules` below).
        unsafe impl $crate::ffi::sized::CallerSized for $t {
            const SIZES: &'static [usize] = &[std::mem::size_of::<$t>()];
        }
    )*};
}
pub(crate) use caller_sized_v1;

/// The largest version size that fits in `size`: how many bytes are read or written.
#[inline]
fn fitting<T: CallerSized>(size: usize) -> usize {
    if size >= size_of::<T>() {
        return size_of::<T>();
    }
    // Only reached by a caller compiled against an older header than this library.
    T::SIZES
        .iter()
        .copied()
        .filter(|&s| s <= size)
        .max()
        .unwrap_or(0)
}

/// The `struct_size` of the caller's struct at `p`, checked to hold version 1 and to fit
/// `n` array elements in the address space.
///
/// # Safety
/// `p` is valid for reading a `u32` (the caller's `struct_size`).
#[inline]
pub(crate) unsafe fn struct_size<T: CallerSized>(
    p: *const T,
    n: usize,
) -> Result<usize, httpring_code> {
    if p.is_null() {
        return Err(HTTPRING_ERR_INVALID_ARGUMENT);
    }
    let size = unsafe { p.cast::<u32>().read_unaligned() } as usize;
    if size < T::V1 || size.checked_mul(n).is_none_or(|b| b > isize::MAX as usize) {
        return Err(HTTPRING_ERR_INVALID_ARGUMENT);
    }
    Ok(size)
}

/// Writes `value` as element `i` of the caller's array of `size`-byte structs (a single
/// struct is element 0): the fields that fit, and `struct_size` = `size`.
///
/// # Safety
/// `base` is valid for writes of `(i + 1) * size` bytes; `size` came from `struct_size`.
#[inline]
pub(crate) unsafe fn write_at<T: CallerSized>(base: *mut T, i: usize, size: usize, value: T) {
    let dst = unsafe { base.cast::<u8>().add(i * size) };
    if size >= size_of::<T>() {
        // The common case: the caller was compiled with this header (or a newer one, whose
        // extra fields the library does not know and leaves alone).
        unsafe { dst.cast::<T>().write_unaligned(value) };
    } else {
        let n = fitting::<T>(size);
        unsafe { std::ptr::copy_nonoverlapping((&raw const value).cast::<u8>(), dst, n) };
    }
    unsafe { dst.cast::<u32>().write_unaligned(size as u32) };
}

/// Reads element `i` of the caller's array of `size`-byte structs; fields beyond the
/// caller's version keep `default`'s values.
///
/// # Safety
/// `base` is valid for reads of `(i + 1) * size` bytes; `size` came from `struct_size`.
#[inline]
pub(crate) unsafe fn read_at<T: CallerSized>(
    base: *const T,
    i: usize,
    size: usize,
    default: T,
) -> T {
    let src = unsafe { base.cast::<u8>().add(i * size) };
    if size >= size_of::<T>() {
        unsafe { src.cast::<T>().read_unaligned() }
    } else {
        let mut value = default;
        let n = fitting::<T>(size);
        unsafe { std::ptr::copy_nonoverlapping(src, (&raw mut value).cast::<u8>(), n) };
        value
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use std::mem::{offset_of, size_of};

    /// Every caller-sized struct starts with `struct_size: u32`, and version 1 is its size
    /// today (change these numbers only by adding a version to `SIZES`).
    #[test]
    fn layout_rules() {
        assert_eq!(offset_of!(httpring_completion, struct_size), 0);
        assert_eq!(offset_of!(httpring_stats, struct_size), 0);
        assert_eq!(offset_of!(httpring_request_spec, struct_size), 0);
        assert_eq!(offset_of!(httpring_response, struct_size), 0);
        assert_eq!(offset_of!(httpring_result, struct_size), 0);
        assert_eq!(offset_of!(httpring_info, struct_size), 0);
        assert_eq!(offset_of!(httpring_chunk, struct_size), 0);
        // x86-64 / aarch64 Linux sizes of version 1.
        if size_of::<usize>() == 8 {
            assert_eq!(size_of::<httpring_completion>(), 40);
            assert_eq!(size_of::<httpring_stats>(), 40);
            assert_eq!(size_of::<httpring_request_spec>(), 152); // version 5; 4: 144; 1: 88
            assert_eq!(offset_of!(httpring_request_spec, pool_timeout_ms), 88);
            assert_eq!(offset_of!(httpring_request_spec, flags), 144);
            assert_eq!(size_of::<httpring_response>(), 64);
            assert_eq!(size_of::<httpring_result>(), 120); // version 6; 3: 104; 2: 88; 1: 80
            assert_eq!(offset_of!(httpring_result, bytes_received), 80);
            assert_eq!(offset_of!(httpring_result, reason), 88);
            assert_eq!(offset_of!(httpring_result, body_pieces), 104);
            assert_eq!(size_of::<httpring_header>(), 32);
            assert_eq!(size_of::<httpring_piece>(), 16);
            assert_eq!(size_of::<httpring_info>(), 168);
            assert_eq!(size_of::<httpring_chunk>(), 32);
        }
    }
}
