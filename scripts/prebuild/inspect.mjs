// Checks a built addon with llvm-objdump before it becomes a prebuild: the
// right machine, only the system libraries every target system has, no
// symbol from Node other than Node-API's and libuv's, and (glibc) no symbol
// version newer than the glibc floor. Returns a one-line summary, or throws
// an Error listing every problem.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { compareVersions, GLIBC_FLOOR } from './targets.mjs';

const FROM_NODE = /^(napi|node_api|uv)_/;
const ENTRY_POINTS = new Set(['napi_register_module_v1', 'node_api_module_get_api_version_v1']);
const GLIBC_LIBRARIES = new Set(['libc.so.6', 'libm.so.6', 'libpthread.so.0', 'libdl.so.2', 'librt.so.1', 'ld-linux-x86-64.so.2', 'ld-linux-aarch64.so.1']);
const MUSL_LIBRARIES = new Set(['libc.so']);
const MACOS_LIBRARIES = new Set(['/usr/lib/libSystem.B.dylib']);

function objdump(tool, args, file) {
  return execFileSync(tool, [...args, file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

/** Inspects an ELF shared object built for a Linux target. */
export function inspectElf(tool, file, target) {
  const problems = [];
  const header = objdump(tool, ['-f'], file);
  const format = { x86_64: 'elf64-x86-64', aarch64: 'elf64-littleaarch64' }[target.machine];
  if (!header.includes(`file format ${format}`)) problems.push(`not ${format}: ${/file format (\S+)/.exec(header)?.[1] ?? 'unknown format'}`);

  const privateHeaders = objdump(tool, ['-p'], file);
  const needed = [...privateHeaders.matchAll(/^\s*NEEDED\s+(\S+)/gm)].map((match) => match[1]);
  const allowed = target.libc === 'musl' ? MUSL_LIBRARIES : GLIBC_LIBRARIES;
  for (const library of needed) if (!allowed.has(library)) problems.push(`needs ${library}`);
  const versions = [...privateHeaders.matchAll(/\b(GLIBC|GLIBCXX|CXXABI|GCC)_([\d.]+)\b/g)].map((match) => [match[1], match[2]]);
  let newestGlibc = '0';
  for (const [name, version] of versions) {
    if (name !== 'GLIBC') problems.push(`needs ${name}_${version} (a C++ runtime or libgcc from the build machine)`);
    else if (compareVersions(version, newestGlibc) > 0) newestGlibc = version;
  }
  if (compareVersions(newestGlibc, GLIBC_FLOOR) > 0) problems.push(`needs GLIBC_${newestGlibc}, newer than ${GLIBC_FLOOR}`);

  // llvm-objdump -T: `address flags section size [version] name`.
  const exported = [];
  const undefinedNames = [];
  for (const line of objdump(tool, ['-T'], file).split('\n')) {
    const match = /^[0-9a-f]+\s(.*?)\s(\S+)\t[0-9a-f]+\s+(?:\((\S+)\)\s+)?(\S+)$/.exec(line);
    if (!match) continue;
    const [, flags, section, version, name] = match;
    if (section === '*UND*') {
      if (flags.includes('w')) continue; // weak references (__gmon_start__ and the like) may stay unresolved
      if (!version) undefinedNames.push(name);
    } else if (/[gw]/.test(flags)) {
      exported.push(name);
    }
  }
  if (!exported.includes('napi_register_module_v1')) problems.push('does not export napi_register_module_v1');
  const extraExports = exported.filter((name) => !ENTRY_POINTS.has(name));
  if (extraExports.length > 0) problems.push(`exports more than the Node-API entry points: ${extraExports.slice(0, 5).join(', ')}${extraExports.length > 5 ? ', ...' : ''}`);
  // glibc symbols carry a version, so anything unversioned must come from
  // Node; musl has no symbol versions, so there only Node's are counted.
  const fromNode = undefinedNames.filter((name) => FROM_NODE.test(name));
  if (target.libc === 'glibc') {
    const stray = undefinedNames.filter((name) => !FROM_NODE.test(name));
    if (stray.length > 0) problems.push(`undefined symbols that neither Node nor glibc provides: ${stray.slice(0, 8).join(', ')}`);
  }
  if (fromNode.length === 0) problems.push('calls no Node-API function (not an addon?)');
  // musl: when this machine has musl's loader for the target (Debian: the
  // musl package), let it resolve the file: only Node's symbols may be missing.
  let muslCheck = '';
  const muslLoader = `/lib/ld-musl-${target.machine}.so.1`;
  if (target.libc === 'musl' && existsSync(muslLoader) && target.machine === { x64: 'x86_64', arm64: 'aarch64' }[process.arch]) {
    const listed = spawnSync(muslLoader, ['--list', file], { encoding: 'utf8' });
    const missing = [...`${listed.stdout}${listed.stderr}`.matchAll(/Error relocating [^:]+: ([^:]+): symbol not found/g)].map((match) => match[1]);
    const strays = missing.filter((name) => !FROM_NODE.test(name));
    if (strays.length > 0) problems.push(`symbols musl's loader cannot resolve: ${strays.slice(0, 8).join(', ')}`);
    else if (/Error/.test(listed.stderr.replace(/Error relocating [^\n]*symbol not found/g, ''))) problems.push(`musl's loader: ${listed.stderr.trim().split('\n')[0]}`);
    else muslCheck = ', every other symbol resolved by musl\'s loader';
  }
  if (problems.length > 0) throw new Error(problems.join('; '));
  const libc = target.libc === 'glibc' ? `GLIBC <= ${newestGlibc}` : `musl${muslCheck}`;
  return `${target.machine} ELF, needs ${needed.join(' ')} (${libc}), ${fromNode.length} Node-API/libuv symbols, exports ${exported.join(' ')}`;
}

/** Inspects a Mach-O bundle or dylib built for a macOS target. */
export function inspectMachO(tool, file, target) {
  const problems = [];
  const header = objdump(tool, ['--macho', '--private-header'], file);
  const cpu = { x86_64: 'X86_64', aarch64: 'ARM64' }[target.machine];
  const headerLine = header.split('\n').find((line) => line.includes('MH_MAGIC')) ?? '';
  if (!headerLine.includes('MH_MAGIC_64')) problems.push('not a 64-bit Mach-O file');
  if (!new RegExp(`\\b${cpu}\\b`).test(headerLine)) problems.push(`cputype is not ${cpu}: ${headerLine.trim()}`);
  if (!/\b(BUNDLE|DYLIB)\b/.test(headerLine)) problems.push('neither a bundle nor a dylib');

  const loadCommands = objdump(tool, ['--macho', '--private-headers'], file);
  const libraries = [...loadCommands.matchAll(/cmd LC_LOAD(?:_WEAK)?_DYLIB\n\s*cmdsize \d+\n\s*name (\S+)/g)].map((match) => match[1]);
  for (const library of libraries) if (!MACOS_LIBRARIES.has(library)) problems.push(`loads ${library}`);
  const minimum = /cmd LC_BUILD_VERSION[\s\S]*?minos (\S+)/.exec(loadCommands)?.[1] ?? /cmd LC_VERSION_MIN_MACOSX[\s\S]*?version (\S+)/.exec(loadCommands)?.[1];

  // -undefined dynamic_lookup: Node's symbols are bound by flat lookup in the
  // node process; everything else must be bound to libSystem.
  const binds = objdump(tool, ['--macho', '--bind', '--lazy-bind', '--weak-bind'], file);
  let flat = 0;
  const stray = new Set();
  for (const line of binds.split('\n')) {
    const match = /\s(flat-namespace|\S+)\s+(_\S+)$/.exec(line.trim());
    if (!match || !/^__/.test(line.trim().split(/\s+/)[0] ?? '')) continue;
    const [, dylib, symbol] = match;
    if (dylib === 'flat-namespace') {
      if (FROM_NODE.test(symbol.slice(1))) flat++;
      else stray.add(symbol);
    } else if (dylib !== 'libSystem' && dylib !== 'this-image' && dylib !== 'weak') {
      stray.add(`${symbol} (${dylib})`);
    }
  }
  if (stray.size > 0) problems.push(`symbols bound neither to Node-API/libuv nor libSystem: ${[...stray].slice(0, 8).join(', ')}`);
  if (flat === 0) problems.push('no Node-API symbol bound by flat lookup (not linked with -undefined dynamic_lookup?)');
  const exportsTrie = objdump(tool, ['--macho', '--exports-trie'], file);
  if (!/\b_napi_register_module_v1\b/.test(exportsTrie)) problems.push('does not export _napi_register_module_v1');
  if (problems.length > 0) throw new Error(problems.join('; '));
  return `${target.machine} Mach-O ${/\b(BUNDLE|DYLIB)\b/.exec(headerLine)[1].toLowerCase()}, macOS >= ${minimum}, loads ${libraries.join(' ')}, ${flat} Node-API/libuv symbols by flat lookup`;
}

/** The DLLs every Windows 7+ system has, that a MinGW build of an addon may import. */
const WINDOWS_LIBRARIES = new Set(['kernel32.dll', 'msvcrt.dll', 'ntdll.dll', 'ws2_32.dll', 'advapi32.dll', 'user32.dll']);

/**
 * Inspects a PE DLL built for Windows with MinGW-w64 (`x86_64-w64-mingw32-objdump`):
 * x86-64, only system DLLs and node.exe imported (no libstdc++/libgcc DLL:
 * they are linked statically), only Node-API taken from node.exe (no libuv:
 * Windows addons link against Node-API alone), and the Node-API entry points
 * exported, nothing else.
 */
export function inspectPe(tool, file, target) {
  const problems = [];
  const headers = objdump(tool, ['-p'], file);
  if (!/file format pei-x86-64/.test(headers)) problems.push(`not pei-x86-64: ${/file format (\S+)/.exec(headers)?.[1] ?? 'unknown format'}`);
  const imports = new Map();
  let current = null;
  for (const line of headers.split('\n')) {
    const dll = /^\s*DLL Name: (\S+)/.exec(line);
    if (dll) {
      current = dll[1];
      imports.set(current, []);
      continue;
    }
    if (line.trim() === '') current = null;
    const member = current && /^\s*[0-9a-f]+\s+\d+\s+(\S+)$/.exec(line);
    if (member) imports.get(current).push(member[1]);
  }
  for (const dll of imports.keys()) {
    if (dll !== 'node.exe' && !WINDOWS_LIBRARIES.has(dll.toLowerCase())) problems.push(`imports ${dll}`);
  }
  const fromNode = imports.get('node.exe') ?? [];
  if (fromNode.length === 0) problems.push('imports nothing from node.exe (not an addon?)');
  const notNodeApi = fromNode.filter((name) => !/^(napi|node_api)_/.test(name));
  if (notNodeApi.length > 0) problems.push(`takes more than Node-API from node.exe: ${notNodeApi.slice(0, 5).join(', ')}`);
  const exportTable = headers.split('[Ordinal/Name Pointer] Table')[1] ?? '';
  const exported = [...exportTable.matchAll(/^\s*\[\s*\d+\]\s+(\S+)$/gm)].map((match) => match[1]);
  if (!exported.includes('napi_register_module_v1')) problems.push('does not export napi_register_module_v1');
  const extra = exported.filter((name) => !ENTRY_POINTS.has(name));
  if (extra.length > 0) problems.push(`exports more than the Node-API entry points: ${extra.slice(0, 5).join(', ')}`);
  if (target.machine !== 'x86_64') problems.push(`no Windows build for ${target.machine}`);
  if (problems.length > 0) throw new Error(problems.join('; '));
  return `x86_64 PE DLL, imports ${[...imports.keys()].join(' ')}, ${fromNode.length} Node-API symbols from node.exe, exports ${exported.join(' ')}`;
}

export function inspect(tool, file, target) {
  if (target.platform === 'win32') return inspectPe(tool, file, target);
  return target.platform === 'darwin' ? inspectMachO(tool, file, target) : inspectElf(tool, file, target);
}
