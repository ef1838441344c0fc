#!/usr/bin/env bash
# End-to-end install test: publish every public @evloop package to a local
# Verdaccio on loopback, then install them with plain npm into fresh projects
# outside the workspace, as a user would:
#
#   1. core-policy + selector-poll        -> backend=poll, one echo round-trip
#   2. core-policy alone                  -> "no usable backend ... npm install <preferred>"
#      + a backend for another platform   -> installs cleanly, reports itself unavailable
#   3. core-policy + two backends         -> the platform's preferred one
#   4. no compiler, make or python3 on PATH: core-policy + epoll, poll and
#      select install from their prebuilt binaries (never compiled) and each
#      runs the echo round trip
#   1 again: with its prebuilds removed, `npm rebuild` says in one line that
#      it compiles from source, and the compiled addon works
#   5. every public package under npm's hoisted layout and under pnpm's
#      isolated one: each loads by import and require, each backend gives
#      backend.sys, and the echo runs on the platform's backends
#
# Every tarball is checked first: native packages carry prebuilds/ (made by
# `pnpm prebuild`; this script makes the host's own when they are missing)
# and never build/; each tarball's size is printed.
#
#   pnpm test:e2e            (KEEP_E2E=1 keeps the temp directory)
#
# Verdaccio is installed with npm into the temp directory (never into the
# workspace) and proxies the registry npm is configured with here.
set -euo pipefail

VERDACCIO_VERSION=6.8.0 # the newest 6.x whose engines accept Node 20
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/tests/e2e-install"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/evloop-e2e.XXXXXX")"
VERDACCIO_PID=""
STEP_STARTED=$SECONDS

# The pnpm that runs this script (`pnpm test:e2e`), else the one on PATH.
if [[ "${npm_execpath:-}" == *pnpm* && -f "${npm_execpath:-}" ]]; then PNPM=(node "$npm_execpath"); else PNPM=(pnpm); fi
echo "== pnpm: ${PNPM[*]} ($("${PNPM[@]}" --version))"

cleanup() {
  local status=$?
  if [[ -n "$VERDACCIO_PID" ]] && kill -0 "$VERDACCIO_PID" 2>/dev/null; then
    kill "$VERDACCIO_PID" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$VERDACCIO_PID" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$VERDACCIO_PID" 2>/dev/null || true
  fi
  if [[ $status -ne 0 && -f "$WORK/verdaccio.log" ]]; then
    echo "-- verdaccio log (last 40 lines)"
    tail -n 40 "$WORK/verdaccio.log" || true
  fi
  if [[ -n "${KEEP_E2E:-}" ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() {
  echo "== $1 (previous step took $((SECONDS - STEP_STARTED))s)"
  STEP_STARTED=$SECONDS
}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

case "$(node -p process.platform)" in
  linux)
    PREFERRED=selector-epoll SECOND=selector-poll FOREIGN=selector-kqueue ;;
  darwin | freebsd | openbsd | netbsd)
    PREFERRED=selector-kqueue SECOND=selector-poll FOREIGN=selector-epoll ;;
  *)
    echo "e2e-install: no backend to test on $(node -p process.platform); skipped"; exit 0 ;;
esac

UPSTREAM="$(npm config get registry)"
# Verdaccio runs on Node, which trusts only its own CA list unless told more.
CAFILE="$(npm config get cafile 2>/dev/null || true)"
if [[ -n "$CAFILE" && "$CAFILE" != "null" && "$CAFILE" != "undefined" && -f "$CAFILE" ]]; then
  export NODE_EXTRA_CA_CERTS="$CAFILE"
fi

step "build"
(cd "$ROOT" && timeout 600 "${PNPM[@]}" build --output-logs=errors-only)

step "prebuilt binaries for this machine"
# The target id `pnpm prebuild` uses for this machine, and the file tag
# node-gyp-build looks for here.
HOST_TARGET="$(node -p '
  const libc = process.platform === "linux" ? (require("fs").existsSync("/etc/alpine-release") ? "-musl" : "-glibc") : "";
  `${process.platform}-${process.arch}${libc}`')"
missing=()
for manifest in "$ROOT"/packages/*/package.json; do
  wants="$(node -p "(require('$manifest').evloop?.prebuilds ?? []).includes('$HOST_TARGET')")"
  [[ "$wants" == "true" ]] || continue
  dir="$(dirname "$manifest")"
  if ! compgen -G "$dir/prebuilds/$(node -p 'process.platform + "-" + process.arch')/*.node" >/dev/null; then missing+=("$(basename "$dir")"); fi
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "no $HOST_TARGET prebuild in: ${missing[*]}; running pnpm prebuild --target $HOST_TARGET"
  (cd "$ROOT" && timeout 1200 "${PNPM[@]}" prebuild --target "$HOST_TARGET")
fi

step "install verdaccio@$VERDACCIO_VERSION into the temp directory"
mkdir -p "$WORK/verdaccio"
# verdaccio-audit asks for node-fetch by its `cjs` dist-tag, which registry
# mirrors do not always carry; pin that tag's release line instead.
cat >"$WORK/verdaccio/package.json" <<EOF
{
  "name": "evloop-e2e-verdaccio",
  "private": true,
  "dependencies": { "verdaccio": "$VERDACCIO_VERSION" },
  "overrides": { "node-fetch": "2.7.0" }
}
EOF
(cd "$WORK/verdaccio" && timeout 300 npm install --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)

step "start verdaccio on loopback"
PORT="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
REGISTRY="http://127.0.0.1:$PORT/"
cat >"$WORK/verdaccio.yaml" <<EOF
storage: $WORK/storage
listen: 127.0.0.1:$PORT
web:
  enable: false
uplinks:
  upstream:
    url: $UPSTREAM
    timeout: 60s
packages:
  '@evloop/*':
    access: \$all
    publish: \$all
    unpublish: \$all
  '**':
    access: \$all
    proxy: upstream
max_body_size: 50mb
log: { type: stdout, format: pretty, level: warn }
EOF
"$WORK/verdaccio/node_modules/.bin/verdaccio" --config "$WORK/verdaccio.yaml" >"$WORK/verdaccio.log" 2>&1 &
VERDACCIO_PID=$!
for _ in $(seq 1 60); do
  if node -e "fetch('${REGISTRY}-/ping').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" 2>/dev/null; then break; fi
  kill -0 "$VERDACCIO_PID" 2>/dev/null || fail "verdaccio exited"
  sleep 0.5
done
node -e "fetch('${REGISTRY}-/ping').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" || fail "verdaccio did not answer on $REGISTRY"
echo "verdaccio on $REGISTRY"

step "publish every public package"
# Publishing needs a token for the registry, even one Verdaccio ignores
# (@evloop/* allows anonymous publish in this temp config only).
cat >"$WORK/publish.npmrc" <<EOF
//127.0.0.1:$PORT/:_authToken=e2e-anonymous
EOF
PUBLISHED=()
for manifest in "$ROOT"/packages/*/package.json; do
  dir="$(dirname "$manifest")"
  if [[ "$(node -p "require('$manifest').private === true")" == "true" ]]; then continue; fi
  name="$(node -p "require('$manifest').name")"
  # Both spellings: under npx, npm exports its own npm_config_userconfig, which would win.
  (cd "$dir" && NPM_CONFIG_USERCONFIG="$WORK/publish.npmrc" npm_config_userconfig="$WORK/publish.npmrc" timeout 120 \
    "${PNPM[@]}" publish --registry "$REGISTRY" --no-git-checks --access public --loglevel=warn >"$WORK/publish.log" 2>&1) ||
    { cat "$WORK/publish.log"; fail "publishing $name"; }
  PUBLISHED+=("$name")
done
echo "published: ${PUBLISHED[*]}"

step "tarball contents and sizes"
# The tarballs pnpm would publish: a native package carries every prebuild
# its package.json asks for and never build/ (node-gyp-build would prefer a
# build/Release/*.node over prebuilds/).
mkdir -p "$WORK/tarballs"
printf '%-28s %10s %10s  %s\n' package packed unpacked prebuilds
for manifest in "$ROOT"/packages/*/package.json; do
  dir="$(dirname "$manifest")"
  if [[ "$(node -p "require('$manifest').private === true")" == "true" ]]; then continue; fi
  name="$(node -p "require('$manifest').name")"
  tarball="$(cd "$dir" && timeout 120 "${PNPM[@]}" pack --pack-destination "$WORK/tarballs" 2>/dev/null | grep -E '\.tgz$' | tail -n 1)"
  [[ "$tarball" == /* ]] || tarball="$WORK/tarballs/$(basename "$tarball")"
  [[ -f "$tarball" ]] || fail "pnpm pack $name made no tarball"
  listing="$(tar -tzf "$tarball")"
  if grep -q '^package/build/' <<<"$listing"; then fail "$name's tarball carries build/"; fi
  prebuilds="$( (grep -E '^package/prebuilds/.+\.node$' <<<"$listing" || true) | sed 's|^package/prebuilds/||' | tr '\n' ' ')"
  for target in $(node -p "(require('$manifest').evloop?.prebuilds ?? []).join(' ')"); do
    platform_arch="$(cut -d- -f1,2 <<<"$target")"
    libc="$(cut -d- -f3 -s <<<"$target")"
    grep -qE "^package/prebuilds/$platform_arch/[^/]+\.napi${libc:+\.$libc}\.node$" <<<"$listing" ||
      fail "$name's tarball has no $target prebuild (run pnpm prebuild)"
  done
  unpacked="$(tar -xzOf "$tarball" | wc -c)"
  printf '%-28s %9sK %9sK  %s\n' "$name" "$(( $(wc -c <"$tarball") / 1024 ))" "$(( unpacked / 1024 ))" "${prebuilds:--}"
done
for private in @evloop/conformance; do
  if node -e "fetch('${REGISTRY}${private/\//%2f}').then(r=>process.exit(r.status===404?0:1),()=>process.exit(1))"; then :; else fail "$private is private but the registry has it"; fi
done

# A fresh project outside the workspace, installed from the local registry only.
new_project() {
  local project="$WORK/projects/$1"
  mkdir -p "$project"
  printf '{ "name": "evloop-e2e-%s", "private": true, "type": "module" }\n' "$1" >"$project/package.json"
  cp "$HERE/app.mjs" "$HERE/unavailable.mjs" "$HERE/which-binary.mjs" "$project/"
  echo "$project"
}
npm_install() {
  local project="$1"
  shift
  (cd "$project" && timeout 300 npm install --registry "$REGISTRY" --no-audit --no-fund --loglevel=error "$@")
}
run_app() {
  (cd "$1" && timeout 60 node app.mjs)
}

step "project 1: npm install @evloop/core-policy @evloop/selector-poll"
P1="$(new_project poll-only)"
npm_install "$P1" @evloop/core-policy @evloop/selector-poll
OUT="$(run_app "$P1")" || { echo "$OUT"; fail "the app failed with only selector-poll installed"; }
echo "$OUT"
grep -qx 'backend=poll' <<<"$OUT" || fail "expected backend=poll"
grep -qx 'echo=ok' <<<"$OUT" || fail "expected echo=ok"
BINARY="$(cd "$P1" && node which-binary.mjs @evloop/selector-poll)"
echo "$BINARY"
grep -q " node_modules/@evloop/selector-poll/prebuilds/" <<<"$BINARY" || fail "selector-poll does not load its prebuilt binary"

step "project 2: npm install @evloop/core-policy (no backend)"
P2="$(new_project no-backend)"
npm_install "$P2" @evloop/core-policy
if OUT="$(run_app "$P2" 2>&1)"; then echo "$OUT"; fail "the app ran without a backend"; fi
echo "$OUT" | head -n 3
grep -q "npm install @evloop/$PREFERRED" <<<"$OUT" || fail "the error does not say to install @evloop/$PREFERRED"

step "project 2: npm install @evloop/$FOREIGN (not for this platform)"
npm_install "$P2" "@evloop/$FOREIGN"
OUT="$(cd "$P2" && timeout 60 node unavailable.mjs "@evloop/$FOREIGN")" || { echo "$OUT"; fail "@evloop/$FOREIGN did not load"; }
echo "$OUT"
grep -q '^available=false reason=.' <<<"$OUT" || fail "@evloop/$FOREIGN should report itself unavailable, with a reason"
if OUT="$(run_app "$P2" 2>&1)"; then echo "$OUT"; fail "the app ran with only a foreign backend"; fi
grep -q "npm install @evloop/$PREFERRED" <<<"$OUT" || fail "the error does not say to install @evloop/$PREFERRED"

step "project 3: npm install @evloop/core-policy @evloop/$SECOND @evloop/$PREFERRED"
P3="$(new_project two-backends)"
npm_install "$P3" @evloop/core-policy "@evloop/$SECOND" "@evloop/$PREFERRED"
OUT="$(run_app "$P3")" || { echo "$OUT"; fail "the app failed with two backends installed"; }
echo "$OUT"
grep -qx "backend=${PREFERRED#selector-}" <<<"$OUT" || fail "expected backend=${PREFERRED#selector-}"
grep -qx 'echo=ok' <<<"$OUT" || fail "expected echo=ok"

step "project 4: no compiler, make or python3: npm install @evloop/core-policy + epoll, poll, select"
# A PATH with node, npm and the few programs npm and its scripts run, and no
# compiler: a package that tried to compile would fail to install.
NOCC="$WORK/no-compiler-bin"
mkdir -p "$NOCC"
for tool in node npm sh bash env cat ls rm mkdir cp mv chmod uname; do
  found="$(command -v "$tool" || true)"
  [[ -n "$found" ]] && ln -sf "$found" "$NOCC/$tool"
done
for tool in g++ gcc cc c++ clang clang++ make gmake python3 python; do
  if PATH="$NOCC" command -v "$tool" >/dev/null 2>&1; then fail "$tool is still on the no-compiler PATH"; fi
done
P4="$(new_project no-compiler)"
NATIVE=(@evloop/selector-epoll @evloop/selector-poll @evloop/selector-select)
OUT="$(cd "$P4" && env -u CC -u CXX -u npm_config_python -u NODE_GYP_FORCE_PYTHON PATH="$NOCC" \
  "$(command -v timeout)" 300 npm install --registry "$REGISTRY" --no-audit --no-fund --loglevel=error --foreground-scripts \
  @evloop/core-policy "${NATIVE[@]}" 2>&1)" || { echo "$OUT"; fail "npm install without a compiler failed"; }
if grep -qE 'compiling from source|gyp info' <<<"$OUT"; then echo "$OUT"; fail "something was compiled"; fi
BINARIES="$(cd "$P4" && PATH="$NOCC" node which-binary.mjs @evloop/sys "${NATIVE[@]}")"
echo "$BINARIES"
while read -r name file; do
  [[ "$file" == node_modules/$name/prebuilds/* ]] || fail "$name loads $file, not a prebuilt binary"
done <<<"$BINARIES"
for backend in epoll poll select; do
  OUT="$(cd "$P4" && EVLOOP_BACKEND="$backend" PATH="$NOCC" "$(command -v timeout)" 60 node app.mjs)" || { echo "$OUT"; fail "the echo on $backend failed"; }
  grep -qx "backend=$backend" <<<"$OUT" || { echo "$OUT"; fail "expected backend=$backend"; }
  grep -qx 'echo=ok' <<<"$OUT" || { echo "$OUT"; fail "no echo on $backend"; }
  echo "$backend: echo=ok"
done

step "project 1 again: no prebuild matches -> compiled from source, said in one line"
rm -rf "$P1/node_modules/@evloop/selector-poll/prebuilds"
OUT="$(cd "$P1" && timeout 300 npm rebuild @evloop/selector-poll --foreground-scripts --loglevel=error 2>&1)" || { echo "$OUT"; fail "npm rebuild (compiling selector-poll) failed"; }
grep -x "@evloop/selector-poll: no prebuilt binary for $(node -p 'process.platform + "-" + process.arch'); compiling from source" <<<"$OUT" ||
  { echo "$OUT"; fail "the fallback did not say it compiles from source"; }
[[ "$(grep -c 'compiling from source' <<<"$OUT")" == 1 ]] || { echo "$OUT"; fail "more than one line about compiling"; }
BINARY="$(cd "$P1" && node which-binary.mjs @evloop/selector-poll)"
echo "$BINARY"
grep -q " node_modules/@evloop/selector-poll/build/Release/" <<<"$BINARY" || fail "selector-poll was not compiled into build/Release"
OUT="$(run_app "$P1")" || { echo "$OUT"; fail "the app failed on the compiled selector-poll"; }
grep -qx 'echo=ok' <<<"$OUT" || fail "expected echo=ok from the compiled selector-poll"
echo "compiled selector-poll: echo=ok"

step "strict layouts: every public package under npm's hoisted layout and pnpm's isolated one"
# Every import of every package must resolve from what it declares: npm
# hoists, so undeclared imports can slip through there; pnpm's isolated
# layout gives each package only its own dependencies. Both install every
# public package; imports.mjs loads each by import and require (and checks
# backend.sys), and the echo app runs on the platform's backends. pnpm runs
# no install scripts of dependencies unless allowed: the prebuilds must do.
ALL_PUBLIC=()
for name in "${PUBLISHED[@]}"; do ALL_PUBLIC+=("$name"); done
LAYOUT_BACKENDS=(poll select)
[[ "$PREFERRED" == selector-epoll ]] && LAYOUT_BACKENDS=(epoll poll select)
for layout in npm-hoisted pnpm-isolated; do
  P="$(new_project "$layout")"
  cp "$HERE/imports.mjs" "$P/"
  if [[ "$layout" == npm-hoisted ]]; then
    npm_install "$P" "${ALL_PUBLIC[@]}" || fail "npm install of every public package failed"
  else
    (cd "$P" && timeout 300 env -u NODE_PATH "${PNPM[@]}" add --registry "$REGISTRY" --store-dir "$WORK/pnpm-store" \
      --config.node-linker=isolated --loglevel=error "${ALL_PUBLIC[@]}" >"$WORK/pnpm-add.log" 2>&1) ||
      { cat "$WORK/pnpm-add.log"; fail "pnpm add (isolated) of every public package failed"; }
    [[ -L "$P/node_modules/@evloop/core-policy" && ! -e "$P/node_modules/node-gyp-build" ]] ||
      fail "the pnpm project is not in the isolated layout"
  fi
  OUT="$(cd "$P" && timeout 60 env -u NODE_PATH node imports.mjs 2>&1)" || { echo "$OUT"; fail "an import does not resolve under $layout"; }
  echo "$OUT" | sed "s/^/$layout: /"
  for backend in "${LAYOUT_BACKENDS[@]}"; do
    OUT="$(cd "$P" && EVLOOP_BACKEND="$backend" timeout 60 env -u NODE_PATH node app.mjs 2>&1)" || { echo "$OUT"; fail "the echo on $backend failed under $layout"; }
    grep -qx 'echo=ok' <<<"$OUT" || { echo "$OUT"; fail "no echo on $backend under $layout"; }
    echo "$layout: $backend echo=ok"
  done
  if [[ "$PREFERRED" == selector-epoll ]]; then
    # Everything installed, nothing forced: uring where it is usable and not
    # passed over (Node on Linux 6.1+), else epoll.
    EXPECTED="$(cd "$P" && env -u NODE_PATH node -e "const a = require('@evloop/proactor-uring').backend.available(); console.log(a.ok && a.passedOver === undefined ? 'uring' : 'epoll')")"
    OUT="$(cd "$P" && timeout 60 env -u NODE_PATH -u EVLOOP_BACKEND node app.mjs 2>&1)" || { echo "$OUT"; fail "the default echo failed under $layout"; }
    grep -qx "backend=$EXPECTED" <<<"$OUT" || { echo "$OUT"; fail "the default policy did not pick $EXPECTED under $layout"; }
    grep -qx 'echo=ok' <<<"$OUT" || { echo "$OUT"; fail "no default echo under $layout"; }
    echo "$layout: default picks $EXPECTED, echo=ok"
  fi
done

step "done"
echo "e2e-install: ok"
