#!/usr/bin/env bash
# The install step of action.yml: puts `promoter` on PATH (via GITHUB_PATH).
# INPUT_VERSION names a release (e.g. v0.2.0): download the prebuilt archive for this runner's OS
# and architecture from PROMOTER_REPOSITORY's GitHub releases and check it against the release's
# .sha256 file. Empty or "source": `cargo install --locked --path "$GITHUB_ACTION_PATH"`.
# Release assets are named promoter-<version>-<target>.tar.gz (+ .sha256); see docs/github-actions.md.
set -euo pipefail

: "${RUNNER_TEMP:?RUNNER_TEMP is not set; this script runs in a GitHub Actions step}"
: "${GITHUB_PATH:?GITHUB_PATH is not set; this script runs in a GitHub Actions step}"
root="${RUNNER_TEMP}/promoter-bin"
mkdir -p "${root}/bin"

version="${INPUT_VERSION:-}"
if [ -z "${version}" ] || [ "${version}" = "source" ]; then
  : "${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set}"
  cargo install --locked --path "${GITHUB_ACTION_PATH}" --root "${root}"
  echo "${root}/bin" >>"${GITHUB_PATH}"
  exit 0
fi

case "${version}" in
  v[0-9]*) ;;
  [0-9]*) version="v${version}" ;;
  *)
    echo "::error title=promoter::input version must be a release like v0.2.0 or 'source', got '${version}'"
    exit 2
    ;;
esac

# RUNNER_OS is Linux, Windows or macOS; RUNNER_ARCH is X86, X64, ARM or ARM64
# (docs.github.com/actions/reference/variables-reference#default-environment-variables).
case "${RUNNER_OS:-}/${RUNNER_ARCH:-}" in
  Linux/X64) target=x86_64-unknown-linux-gnu ;;
  Linux/ARM64) target=aarch64-unknown-linux-gnu ;;
  macOS/X64) target=x86_64-apple-darwin ;;
  macOS/ARM64) target=aarch64-apple-darwin ;;
  *)
    echo "::error title=promoter::no prebuilt promoter for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}; set version: source"
    exit 2
    ;;
esac

repository="${PROMOTER_REPOSITORY:-}"
if [ -z "${repository}" ]; then
  echo "::error title=promoter::cannot tell which repository publishes promoter releases; set PROMOTER_REPOSITORY"
  exit 2
fi
server="${GITHUB_SERVER_URL:-https://github.com}"
asset="promoter-${version}-${target}.tar.gz"
base="${server}/${repository}/releases/download/${version}"

cd "${RUNNER_TEMP}"
curl --fail --silent --show-error --location --retry 3 -o "${asset}" "${base}/${asset}"
curl --fail --silent --show-error --location --retry 3 -o "${asset}.sha256" "${base}/${asset}.sha256"
expected="$(cut -d ' ' -f 1 <"${asset}.sha256")"
if command -v sha256sum >/dev/null 2>&1; then
  actual="$(sha256sum "${asset}" | cut -d ' ' -f 1)"
else
  actual="$(shasum -a 256 "${asset}" | cut -d ' ' -f 1)"
fi
if [ -z "${expected}" ] || [ "${expected}" != "${actual}" ]; then
  echo "::error title=promoter::checksum mismatch for ${asset}: expected ${expected:-nothing}, got ${actual}"
  exit 1
fi
tar -xzf "${asset}" -C "${root}/bin" promoter
chmod +x "${root}/bin/promoter"
echo "${root}/bin" >>"${GITHUB_PATH}"
"${root}/bin/promoter" --version
