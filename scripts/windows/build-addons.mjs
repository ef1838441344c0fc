// Cross-compiles every package's Windows addon with MinGW-w64, from what its
// binding.gyp says for OS=="win" (the same conditions node-gyp and the
// prebuild pipeline read): sources, defines and include_dirs of the target,
// with each `conditions` entry whose test names OS=="win" merged in
// (`sources!` removes). Output: <out>/<package folder>/prebuilds/win32-x64/
// <target>.node, outside the package, so the Linux build in build/Release
// stays; run.sh points node-gyp-build there (PREBUILDS_ONLY and
// <NAME>_PREBUILD, node-gyp-build's own switches). As evloop-native, packages whose
// `evloop.platforms` leaves out win32 are skipped.
//   node build-addons.mjs <out> <node.exe import library> <node-api-headers include dir> [package ...]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const [out, importLibrary, nodeApiInclude, ...only] = process.argv.slice(2).map((argument, index) => (index < 3 ? resolve(argument) : argument));
if (!out || !importLibrary || !nodeApiInclude) {
  throw new TypeError('usage: build-addons.mjs <out> <node import library> <node-api-headers include dir> [package ...]');
}
const compiler = process.env.EVLOOP_WIN_CXX ?? 'x86_64-w64-mingw32-g++-posix';

/** Applies the OS=="win" conditions of a gyp target (and none other). */
function windowsTarget(target) {
  const merged = { ...target, sources: [...(target.sources ?? [])], defines: [...(target.defines ?? [])], include_dirs: [...(target.include_dirs ?? [])], libraries: [...(target.libraries ?? [])] };
  for (const [test, settings, otherwise] of target.conditions ?? []) {
    const chosen = /OS\s*==\s*["']win["']/.test(test) ? settings : /OS\s*!=\s*["']win["']/.test(test) ? settings && otherwise : otherwise;
    if (!chosen) continue;
    for (const key of ['sources', 'defines', 'include_dirs', 'libraries']) {
      if (chosen[key]) merged[key].push(...chosen[key]);
      if (chosen[`${key}!`]) merged[key] = merged[key].filter((item) => !chosen[`${key}!`].includes(item));
    }
  }
  return merged;
}

/** gyp's `<!(node -p "...")` include dirs, evaluated in the package. */
function expand(entry, directory) {
  const command = /^<!\(node -p "(.*)"\)$/.exec(entry);
  if (!command) return resolve(directory, entry);
  const require = createRequire(join(directory, 'package.json'));
  const previous = process.cwd();
  process.chdir(directory); // node-gyp runs these in the package folder; some answer a relative path
  try {
    return resolve(directory, String(new Function('require', `return (${command[1].replace(/\\"/g, '"')});`)(require)));
  } finally {
    process.chdir(previous);
  }
}

// Node's own headers (include/node beside this node, as evloop-native finds
// them; EVLOOP_WIN_NODE_INCLUDE elsewhere) hold the OpenSSL headers of every
// platform Node builds for: a target that includes <openssl/...> (tls-native,
// which calls the OpenSSL node.exe exports) gets Windows x64's configuration
// first, then the headers common to all.
const nodeInclude = resolve(process.env.EVLOOP_WIN_NODE_INCLUDE ?? join(dirname(process.execPath), '..', 'include', 'node'));
function opensslIncludes(name, sources) {
  const code = sources.filter((file) => /\.(c|cc|cpp|h|hpp)$/.test(file));
  if (!code.some((file) => /#include\s*[<"]openssl\//.test(readFileSync(file, 'utf8')))) return [];
  const config = join(nodeInclude, 'openssl', 'archs', 'VC-WIN64A', 'no-asm', 'include');
  if (!existsSync(join(config, 'openssl', 'configuration.h'))) {
    throw new Error(`${name} includes OpenSSL headers: none for Windows x64 in ${nodeInclude} (Node's include/node; set EVLOOP_WIN_NODE_INCLUDE)`);
  }
  return [`-I${config}`, `-I${nodeInclude}`];
}

const headerRoot = join(root, 'packages', 'native-core', 'include', 'evloop');
const headers = readdirSync(headerRoot).map((file) => join(headerRoot, file));
const packages = readdirSync(join(root, 'packages')).filter((name) => existsSync(join(root, 'packages', name, 'binding.gyp')));
for (const name of packages) {
  if (only.length > 0 && !only.includes(name)) continue;
  const directory = join(root, 'packages', name);
  // As evloop-native: a package whose `evloop.platforms` leaves out win32 has nothing to build here.
  const platforms = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')).evloop?.platforms;
  if (Array.isArray(platforms) && !platforms.includes('win32')) continue;
  const gyp = JSON.parse(readFileSync(join(directory, 'binding.gyp'), 'utf8'));
  for (const raw of gyp.targets) {
    const target = windowsTarget(raw);
    const folder = join(out, name, 'prebuilds', 'win32-x64');
    const output = join(folder, `${target.target_name}.node`);
    mkdirSync(folder, { recursive: true });
    // node-gyp-build reads the package name from there (for <NAME>_PREBUILD).
    writeFileSync(join(out, name, 'package.json'), readFileSync(join(directory, 'package.json')));
    const args = [
      '-shared', '-O2', '-std=c++17', '-Wall', '-Wextra', '-Wno-unused-parameter', '-Wno-cast-function-type',
      '-static', '-static-libgcc', '-static-libstdc++',
      '-D_WIN32_WINNT=0x0601', '-DWIN32_LEAN_AND_MEAN', '-DNOMINMAX', '-DBUILDING_NODE_EXTENSION',
      ...target.defines.map((define) => `-D${define}`),
      `-I${nodeApiInclude}`,
      ...target.include_dirs.map((entry) => `-I${expand(entry, directory)}`),
      ...(target.defines.includes('NAPI_DISABLE_CPP_EXCEPTIONS') ? ['-fno-exceptions'] : []),
      ...target.sources.map((source) => join(directory, source)),
      '-o', output,
      importLibrary,
      ...target.libraries.map((library) => library.replace(/^(?:-l)?(.*?)(?:\.lib)?$/, '-l$1')),
    ];
    // Up to date: newer than every file in its sources' folders (headers too), binding.gyp and native-core's headers.
    const folders = [...new Set(target.sources.map((source) => dirname(join(directory, source))))];
    const sourceFiles = folders.flatMap((dir) => readdirSync(dir).map((file) => join(dir, file)));
    args.splice(args.indexOf('-o'), 0, ...opensslIncludes(name, sourceFiles));
    const inputs = [...sourceFiles, join(directory, 'binding.gyp'), ...headers];
    if (existsSync(output) && inputs.every((input) => statSync(input).mtimeMs <= statSync(output).mtimeMs)) {
      console.log(`== ${name}: ${target.target_name}.node is up to date`);
      continue;
    }
    console.log(`== ${name}: ${target.target_name}.node from ${target.sources.join(', ')}`);
    execFileSync(compiler, args, { cwd: directory, stdio: 'inherit' });
  }
}
