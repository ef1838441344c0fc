// The prebuild targets a package may opt into (package.json
// `"evloop": { "prebuilds": [...] }`), how Zig names each one, and where
// node-gyp-build 4.8 looks for its file.
//
// Linux files are tagged `glibc` or `musl` (node-gyp-build takes `musl` on
// Alpine, `glibc` elsewhere, and never the other one), and `napi` (one file
// serves every Node version with Node-API 8). glibc builds link against
// glibc 2.17 symbol versions and libc++ statically, so they load on any
// glibc Linux from 2012 on and need no libstdc++ at all.

/** @typedef {{ id: string, platform: 'linux' | 'darwin' | 'win32', arch: 'x64' | 'arm64', libc?: 'glibc' | 'musl', zig?: string, builder?: 'mingw', gypOS: string, machine: string }} Target */

/** Every target `pnpm prebuild` can build, by id. */
export const TARGETS = Object.freeze({
  'linux-x64-glibc': { platform: 'linux', arch: 'x64', libc: 'glibc', zig: 'x86_64-linux-gnu.2.17', gypOS: 'linux', machine: 'x86_64' },
  'linux-arm64-glibc': { platform: 'linux', arch: 'arm64', libc: 'glibc', zig: 'aarch64-linux-gnu.2.17', gypOS: 'linux', machine: 'aarch64' },
  'linux-x64-musl': { platform: 'linux', arch: 'x64', libc: 'musl', zig: 'x86_64-linux-musl', gypOS: 'linux', machine: 'x86_64' },
  'linux-arm64-musl': { platform: 'linux', arch: 'arm64', libc: 'musl', zig: 'aarch64-linux-musl', gypOS: 'linux', machine: 'aarch64' },
  // Zig 0.11 ships macOS libc headers for macOS 11 and later: the version
  // in the triple is raised to 11.0 when binding.gyp asks for less.
  'darwin-x64': { platform: 'darwin', arch: 'x64', zig: 'x86_64-macos', gypOS: 'mac', machine: 'x86_64' },
  'darwin-arm64': { platform: 'darwin', arch: 'arm64', zig: 'aarch64-macos', gypOS: 'mac', machine: 'aarch64' },
  // Not Zig: the MinGW-w64 build of scripts/windows (statically linked, against
  // node.exe's Node-API import library), the same files `pnpm test:windows` tests under Wine.
  'win32-x64': { platform: 'win32', arch: 'x64', builder: 'mingw', gypOS: 'win', machine: 'x86_64' },
});

/** Targets that are planned but cannot be built yet, with the reason a package that asks for one is refused. */
export const NOT_YET = Object.freeze({
  'win32-arm64': 'no Windows arm64 toolchain here (MinGW-w64 from Debian builds x86-64 only), and no arm64 Node under Wine to test with',
});

/** The lowest macOS Zig 0.11 can target. */
export const ZIG_MIN_MACOS = '11.0';

/** The glibc the Linux glibc builds are linked against (the highest symbol version they may need). */
export const GLIBC_FLOOR = '2.17';

/** Looks a target up by id; throws a RangeError naming the known ones. */
export function targetById(id) {
  if (Object.hasOwn(TARGETS, id)) return { id, ...TARGETS[id] };
  if (Object.hasOwn(NOT_YET, id)) throw new RangeError(`prebuild target ${id} cannot be built yet: ${NOT_YET[id]}`);
  throw new RangeError(`unknown prebuild target ${JSON.stringify(id)}; known: ${Object.keys(TARGETS).join(', ')}`);
}

/**
 * Where node-gyp-build finds this target's file, relative to the package:
 * `prebuilds/<platform>-<arch>/<name>.napi[.glibc|.musl].node`.
 */
export function prebuildPath(target, name) {
  const tags = ['napi', ...(target.libc ? [target.libc] : [])];
  return `prebuilds/${target.platform}-${target.arch}/${name}.${tags.join('.')}.node`;
}

/** Compares dotted versions ('10.15' < '11.0'). */
export function compareVersions(a, b) {
  const left = String(a).split('.').map(Number);
  const right = String(b).split('.').map(Number);
  for (let index = 0; index < Math.max(left.length, right.length); index++) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return Math.sign(difference);
  }
  return 0;
}
