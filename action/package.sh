#!/usr/bin/env bash
# Packages a built promoter binary as the release asset action/install.sh downloads:
#   action/package.sh BINARY VERSION TARGET OUT_DIR
# writes OUT_DIR/promoter-VERSION-TARGET.tar.gz (the binary as `promoter` at the archive root) and
# OUT_DIR/promoter-VERSION-TARGET.tar.gz.sha256 ("<sha256>  <asset name>", sha256sum's format).
# The binary is stripped of debug info and symbols.
# Used by .github/workflows/release.yml; tests/cli/actions.rs installs its output with install.sh.
set -euo pipefail

if [ "$#" -ne 4 ]; then
  echo "usage: $0 BINARY VERSION TARGET OUT_DIR" >&2
  exit 2
fi
binary="$1" version="$2" target="$3" out="$4"
case "${version}" in
  v[0-9]*) ;;
  *)
    echo "error: VERSION must be a release tag like v0.2.0, got '${version}'" >&2
    exit 2
    ;;
esac
if [ ! -x "${binary}" ]; then
  echo "error: ${binary} is not an executable file; build it first (cargo build --release --target ${target})" >&2
  exit 2
fi

asset="promoter-${version}-${target}.tar.gz"
stage="$(mktemp -d)"
trap 'rm -rf "${stage}"' EXIT
cp "${binary}" "${stage}/promoter"
chmod 755 "${stage}/promoter"
# The release profile strips already (Cargo.toml); this keeps a binary from another profile from
# shipping its debug info. A strip that cannot read the file (another architecture) leaves it be.
if command -v strip >/dev/null 2>&1; then
  strip "${stage}/promoter" 2>/dev/null || echo "warning: strip failed; packaging ${binary} as it is" >&2
fi
mkdir -p "${out}"
# A reproducible archive: fixed owner and mtime, so the same binary gives the same checksum.
tar --owner=0 --group=0 --numeric-owner --mtime='1970-01-01 00:00:00Z' \
  -czf "${out}/${asset}" -C "${stage}" promoter
if command -v sha256sum >/dev/null 2>&1; then
  (cd "${out}" && sha256sum "${asset}" >"${asset}.sha256")
else
  (cd "${out}" && shasum -a 256 "${asset}" >"${asset}.sha256")
fi
echo "${out}/${asset}"
