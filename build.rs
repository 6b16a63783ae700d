//! Regenerates include/httpring.h from src/ffi with cbindgen. The header is checked in;
//! `make check-header` fails when a build changes it.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    // A versioned soname, so installed programs bind to the ABI major version.
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets this");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libhttpring.so.{major}");
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets this"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let header = dir.join("include/httpring.h");
    match cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
    {
        // write_to_file leaves the file untouched when the text is unchanged.
        Ok(bindings) => {
            bindings.write_to_file(&header);
        }
        Err(e) => panic!("cbindgen failed: {e}"),
    }
}
