#!/usr/bin/env bash
# The fuzz suites with every native addon built with AddressSanitizer
# (`pnpm test:asan`). Node itself is not instrumented: libasan is preloaded
# (LD_PRELOAD) so the addons' instrumented code finds its runtime; leak
# detection is off, since Node's own allocations would all be reported.
# The addons are rebuilt in place with -fsanitize=address, and rebuilt
# normally again on exit, whatever happens. Linux with gcc or clang only.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [[ "$(uname -s)" != Linux ]]; then
  echo "test:asan: SKIPPED (AddressSanitizer preloading is set up for Linux only)"
  exit 0
fi
CC_FOR_ASAN="${CC:-gcc}"
LIBASAN="$("${CC_FOR_ASAN}" -print-file-name=libasan.so 2>/dev/null || true)"
if [[ -z "${LIBASAN}" || ! -e "${LIBASAN}" ]]; then
  echo "test:asan: SKIPPED (no libasan.so from ${CC_FOR_ASAN}; install gcc with libasan)"
  exit 0
fi

# tls-native links no OpenSSL of its own: it calls the one inside the node
# binary (found with dlsym), so only the addon's code is instrumented.
NATIVE_PACKAGES=(sys selector-epoll selector-poll selector-select proactor-uring tls-native)
build_all() {
  for package in "${NATIVE_PACKAGES[@]}"; do
    (cd "packages/${package}" && node ../native-core/bin/evloop-native.mjs build >"build-native.log" 2>&1) || { cat "packages/${package}/build-native.log" >&2; return 1; }
    rm -f "packages/${package}/build-native.log"
  done
}
restore() {
  echo "== test:asan: rebuilding the addons without AddressSanitizer"
  CFLAGS= CXXFLAGS= LDFLAGS= build_all
}
trap restore EXIT

echo "== test:asan: building the addons with -fsanitize=address"
ASAN_FLAGS="-fsanitize=address -fno-omit-frame-pointer -g"
CFLAGS="${ASAN_FLAGS}" CXXFLAGS="${ASAN_FLAGS}" LDFLAGS="-fsanitize=address" build_all
for package in "${NATIVE_PACKAGES[@]}"; do
  for addon in packages/"${package}"/build/Release/*.node; do
    # (grep without -q: with pipefail, nm killed by SIGPIPE would fail the check)
    if [[ "$(nm -D "${addon}" 2>/dev/null | grep -c __asan_)" == 0 ]]; then
      echo "test:asan: ${addon} was not built with AddressSanitizer" >&2
      exit 1
    fi
  done
done

# halt_on_error: the first bad access ends the run with ASan's report.
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1:verify_asan_link_order=0"
export EVLOOP_FUZZ_RUNS="${EVLOOP_FUZZ_RUNS:-300}"
run() {
  echo "== test:asan: $1: vitest run ${*:2}"
  (cd "$1" && LD_PRELOAD="${LIBASAN}" npx vitest run "${@:2}")
}
run packages/sys test/socket-fuzz.test.ts test/addon-arguments.test.ts
# The loop and transport fuzz run on real sockets, so they live with the
# integration tests (core-policy's own tests use its in-memory selector).
run tests/integration test/loop-fuzz.test.ts test/transport-fuzz.test.ts
run packages/selector-epoll test/chaos-conformance.test.ts
run packages/selector-poll test/conformance.test.ts
run packages/selector-select test/conformance.test.ts
run packages/proactor-uring test/chaos-conformance.test.ts test/helper-thread.test.ts
# TLS through the instrumented addon: its own tests (handshake fuzz included),
# then the TLS conformance suite on epoll with the native engine. That suite
# skips itself when the addon cannot load, so make sure it loads here first.
echo "== test:asan: tls-native loads under AddressSanitizer"
(cd packages/tls-native && LD_PRELOAD="${LIBASAN}" node --input-type=module -e '
  const tls = await import("./dist/index.js");
  const status = tls.available();
  if (!status.ok) { console.error(`tls-native does not load: ${status.reason}`); process.exit(1); }')
run packages/tls-native
run packages/selector-epoll test/tls-conformance.test.ts
echo "== test:asan: passed"
