#!/usr/bin/env bash
# Refresh the vendored uPlot files of the HTML report (docs/design/plots.md §4).
#
# The report embeds uPlot with include_str!, so the files are committed and nothing is fetched
# at build time. This script makes that copy reproducible: it packs the exact npm release,
# checks the tarball against a pinned sha256 (so a changed or tampered release is refused),
# and copies only the files the report uses. After running it, update the digests in
# crates/aiperf-plot/src/report/mod.rs if (and only if) the version was bumped on purpose.
set -euo pipefail

VERSION="1.6.32"
TARBALL_SHA256="4b8a8191e425658e3ea8c8c1314b0fc679c861ee3a1af2b20c7b16ba50b5133d"

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/crates/aiperf-plot/assets/report"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

command -v npm >/dev/null || { echo "error: npm is needed to fetch uplot@$VERSION" >&2; exit 1; }

# `npm pack` downloads the published tarball without installing anything or running scripts.
(cd "$work" && npm pack --silent "uplot@$VERSION" >/dev/null)
tarball="$work/uplot-$VERSION.tgz"
[ -f "$tarball" ] || { echo "error: npm pack did not produce $tarball" >&2; exit 1; }

actual="$(sha256sum "$tarball" | cut -d' ' -f1)"
if [ "$actual" != "$TARBALL_SHA256" ]; then
  echo "error: uplot-$VERSION.tgz sha256 is $actual, expected $TARBALL_SHA256" >&2
  exit 1
fi

tar -xzf "$tarball" -C "$work"
mkdir -p "$dest"
cp "$work/package/dist/uPlot.iife.min.js" "$dest/uPlot.iife.min.js"
cp "$work/package/dist/uPlot.min.css" "$dest/uPlot.min.css"
cp "$work/package/LICENSE" "$dest/LICENSE.uplot"

echo "vendored uplot $VERSION into ${dest#"$root"/}:"
(cd "$dest" && sha256sum uPlot.iife.min.js uPlot.min.css LICENSE.uplot)
