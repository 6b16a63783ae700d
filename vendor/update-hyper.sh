#!/usr/bin/env bash
# Moves vendor/hyper to another published hyper release, keeping httpring's patches:
#
#   vendor/update-hyper.sh VERSION        e.g. vendor/update-hyper.sh 1.13.0
#
# 1. fetches hyper VERSION through cargo (a scratch crate depending on hyper = "=VERSION",
#    `cargo fetch`, then the checksum-verified .crate from cargo's registry cache), and the
#    release vendor/hyper is on now, to check that vendor/hyper is exactly that release plus
#    vendor/hyper.patch (otherwise someone edited vendor/hyper without regenerating the
#    patch, and replacing it would lose that edit: the script stops);
# 2. applies vendor/hyper.patch to the new release; a hunk that does not apply (or that
#    upstream already took: patch reports it as reversed) stops the script with the .rej
#    files printed, and vendor/ is left as it was;
# 3. replaces vendor/hyper (Cargo.toml, LICENSE, README.md, src/: what the crate ships,
#    less Cargo.toml.orig, Cargo.lock and .cargo_vcs_info.json) and regenerates
#    vendor/hyper.patch in the same format (diff -ruN, no timestamps).
#
# With VERSION = the current release it reproduces vendor/ byte for byte
# (`git diff --exit-code vendor/` stays clean). KEEP_SCRATCH=1 keeps the scratch directory.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 VERSION   (a published hyper release, e.g. 1.13.0)" >&2; exit 2; }
version=$1
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || { echo "not a version: $version" >&2; exit 2; }

vendor=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$vendor")
cargo=${CARGO:-cargo}
cargo_home=${CARGO_HOME:-$HOME/.cargo}
# The files of the published crate that vendor/hyper keeps.
keep=(Cargo.toml LICENSE README.md src)

scratch=$(mktemp -d "${TMPDIR:-/tmp}/update-hyper.XXXXXX")
if [ "${KEEP_SCRATCH:-0}" = 1 ]; then
  trap 'echo "scratch directory kept: $scratch"' EXIT
else
  trap 'rm -rf "$scratch"' EXIT
fi

die() { echo "update-hyper: $*" >&2; exit 1; }

# fetch VERSION DIR: DIR gets the published crate's kept files.
fetch() {
  local v=$1 dir=$2 crate_dir=$scratch/fetch-$1
  mkdir -p "$crate_dir/src"
  : >"$crate_dir/src/lib.rs"
  cat >"$crate_dir/Cargo.toml" <<EOF
[package]
name = "update-hyper-scratch"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
hyper = "=$v"

[workspace]
EOF
  echo "fetching hyper $v with cargo"
  (cd "$crate_dir" && "$cargo" fetch --quiet) || die "cargo could not fetch hyper $v (is it published?)"
  local files=("$cargo_home"/registry/cache/*/"hyper-$v.crate")
  [ -f "${files[0]}" ] || die "hyper-$v.crate not found under $cargo_home/registry/cache after cargo fetch"
  mkdir -p "$scratch/unpack-$v" "$dir"
  tar -xzf "${files[0]}" -C "$scratch/unpack-$v"
  local f
  for f in "${keep[@]}"; do
    [ -e "$scratch/unpack-$v/hyper-$v/$f" ] || die "hyper $v has no $f"
    cp -a "$scratch/unpack-$v/hyper-$v/$f" "$dir/"
  done
}

# apply DIR: vendor/hyper.patch applied to DIR; returns non-zero (with the rejects shown).
apply() {
  local dir=$1 out rc=0
  out=$(cd "$dir" && patch -p1 -N --no-backup-if-mismatch <"$vendor/hyper.patch" 2>&1) || rc=$?
  local rejects
  rejects=$(cd "$dir" && find . -name '*.rej' | sort)
  if [ $rc -ne 0 ] || [ -n "$rejects" ]; then
    echo "$out" >&2
    local r
    for r in $rejects; do
      echo "---------- rejected hunks: ${r#./} ----------" >&2
      cat "$dir/$r" >&2
    done
    return 1
  fi
  # Offsets and fuzz are fine (the regenerated patch absorbs them), but worth a look.
  echo "$out" | grep -E 'Hunk #[0-9]+ succeeded at .*(offset|fuzz)' | sed 's/^/  /' || true
  return 0
}

# regen PRISTINE PATCHED: the patch in vendor/hyper.patch's format on stdout.
regen() {
  local d=$scratch/regen
  rm -rf "$d" && mkdir -p "$d/a" "$d/b"
  cp -a "$1/src" "$d/a/src"
  cp -a "$2/src" "$d/b/src"
  (cd "$d" && diff -ruN a/src b/src || [ $? -eq 1 ]) |
    sed -e '/^diff -ruN /d' -e 's/^\(---\|+++\) \([^\t]*\)\t.*$/\1 \2/'
}

current=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$vendor/hyper/Cargo.toml" | head -n 1)
[ -n "$current" ] || die "cannot read the version of vendor/hyper/Cargo.toml"
echo "vendor/hyper is hyper $current with $(grep -c '^@@' "$vendor/hyper.patch") patch hunks in $(grep -c '^+++ ' "$vendor/hyper.patch") files"

# 1. vendor/hyper must be its release plus hyper.patch, nothing else.
fetch "$current" "$scratch/current-pristine"
cp -a "$scratch/current-pristine" "$scratch/current-patched"
apply "$scratch/current-patched" || die "vendor/hyper.patch does not apply to hyper $current itself: fix the patch first"
if ! diff -r "$scratch/current-patched" "$vendor/hyper" >"$scratch/stale.diff"; then
  cat "$scratch/stale.diff" >&2
  die "vendor/hyper differs from hyper $current + vendor/hyper.patch (above: - expected, + vendor/hyper).
Regenerate the patch from vendor/hyper first (run this script with VERSION=$current after
committing, or diff by hand), or drop the edit; nothing was changed."
fi

# 2. the new release, patched.
if [ "$version" = "$current" ]; then
  cp -a "$scratch/current-pristine" "$scratch/new-pristine"
else
  fetch "$version" "$scratch/new-pristine"
fi
cp -a "$scratch/new-pristine" "$scratch/new-patched"
echo "applying vendor/hyper.patch to hyper $version"
if ! apply "$scratch/new-patched"; then
  KEEP_SCRATCH=1
  trap 'echo "scratch directory kept: $scratch"' EXIT
  die "vendor/hyper.patch does not apply cleanly to hyper $version (rejected hunks above).
If upstream took a change, drop its hunks from vendor/hyper.patch (and its row from
vendor/README.md); otherwise port them by hand in $scratch/new-patched. vendor/ is unchanged."
fi

# 3. replace vendor/hyper, regenerate the patch.
regen "$scratch/new-pristine" "$scratch/new-patched" >"$scratch/hyper.patch"
rm -rf "$vendor/hyper"
cp -a "$scratch/new-patched" "$vendor/hyper"
cp "$scratch/hyper.patch" "$vendor/hyper.patch"
echo "vendor/hyper is now hyper $version + $(grep -c '^@@' "$vendor/hyper.patch") patch hunks"

if [ "$version" = "$current" ]; then
  echo "same release as before: \`git diff --exit-code vendor/\` should be clean."
  exit 0
fi
cat <<EOF

Next:
  1. git diff --stat vendor/            # the release's own changes plus the regenerated patch
  2. cargo update -p hyper              # Cargo.lock records the patched hyper $version
                                        # (and any new hyper dependency versions)
  3. update the version in vendor/README.md, Cargo.toml's [patch] comment and README.md's Layout
  4. make test-hyper-vendored           # hyper's own unit tests on the patched copy
     make test                          # httpring on it
     make test-stock-hyper              # httpring on stock hyper $version (no [patch])
  5. remeasure (vendor/README.md, "Measured with"): a patch may no longer be worth carrying
EOF
