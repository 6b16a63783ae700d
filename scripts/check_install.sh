#!/usr/bin/env bash
# Checks an installed prefix: usage check_install.sh PREFIX SONAME VERSION.
# The files and symlinks are there, the shared library carries SONAME, and pkg-config
# reports the prefix's paths and the version.
set -euo pipefail
prefix=$1 soname=$2 version=$3
lib=$prefix/lib
fail() { echo "check_install: $*" >&2; exit 1; }
for f in "$lib/libhttpring.so.$version" "$lib/libhttpring.a" "$prefix/include/httpring.h" \
         "$lib/pkgconfig/httpring.pc"; do
  [ -f "$f" ] && [ ! -L "$f" ] || fail "missing file $f"
done
[ "$(readlink "$lib/$soname")" = "libhttpring.so.$version" ] || fail "$lib/$soname is not a link to libhttpring.so.$version"
[ "$(readlink "$lib/libhttpring.so")" = "$soname" ] || fail "$lib/libhttpring.so is not a link to $soname"
got=$(readelf -d "$lib/libhttpring.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$got" = "$soname" ] || fail "soname is '${got}', expected $soname"
export PKG_CONFIG_PATH=$lib/pkgconfig
[ "$(pkg-config --modversion httpring)" = "$version" ] || fail "pkg-config version"
[ "$(pkg-config --variable=libdir httpring)" = "$lib" ] || fail "pkg-config libdir"
cflags=$(echo $(pkg-config --cflags httpring))
[ "$cflags" = "-I$prefix/include" ] || fail "pkg-config cflags: $cflags"
echo "install layout OK: $soname, pkg-config $version, libdir $lib"
