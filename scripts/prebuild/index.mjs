// pnpm prebuild: cross-compiles every native package's addon for the
// targets its package.json opts into (`"evloop": { "prebuilds": [...] }`),
// with Zig, from the sources, include dirs, defines and flags its binding.gyp
// gives; checks each file (scripts/prebuild/inspect.mjs) and writes it where
// node-gyp-build looks: packages/<name>/prebuilds/<platform>-<arch>/.
//
//   node scripts/prebuild/index.mjs [--package <name>]... [--target <id>]... [--jobs <n>] [--list]
//
// Environment: EVLOOP_PREBUILD_CACHE (download and Zig cache folder),
// ZIG, NODE_INCLUDE_DIR, LLVM_OBJDUMP, PREBUILD_STEP_TIMEOUT (seconds for
// one compile or link, default 900: a cold Zig cache builds libc++ first).
import { spawn, spawnSync } from 'node:child_process';
import { cpus, tmpdir } from 'node:os';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readBindingGyp } from './gyp.mjs';
import { inspect } from './inspect.mjs';
import { compareVersions, prebuildPath, targetById, ZIG_MIN_MACOS } from './targets.mjs';
import { cacheDirectory, findNodeHeaders, findObjdump, findZig, headersVersion } from './toolchain.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)}s`;
const log = (message) => console.log(`prebuild: ${message}`);

const { values: options } = parseArgs({
  options: {
    package: { type: 'string', multiple: true, default: [] },
    target: { type: 'string', multiple: true, default: [] },
    jobs: { type: 'string', default: String(Math.max(1, Math.min(2, cpus().length))) },
    list: { type: 'boolean', default: false },
  },
});
const jobs = Number(options.jobs);
if (!Number.isInteger(jobs) || jobs < 1) throw new RangeError(`--jobs must be a positive integer, got ${JSON.stringify(options.jobs)}`);
const stepTimeout = Number(process.env.PREBUILD_STEP_TIMEOUT ?? 900) * 1000;
for (const id of options.target) targetById(id);

// node-gyp's own defaults (node's common.gypi and node-gyp's addon.gypi) for
// a Release addon, under each target, so binding.gyp's `cflags_cc!` and
// xcode_settings act on them as they do in a node-gyp build.
const GYP_DEFAULTS = {
  linux: {
    defines: ['USING_UV_SHARED=1', 'USING_V8_SHARED=1', 'BUILDING_NODE_EXTENSION', '_LARGEFILE_SOURCE', '_FILE_OFFSET_BITS=64'],
    cflags: ['-fPIC', '-pthread', '-Wall', '-Wextra', '-Wno-unused-parameter', '-O3', '-fno-omit-frame-pointer'],
    cflags_cc: ['-fno-rtti', '-fno-exceptions', '-std=gnu++17'],
  },
  mac: {
    defines: ['USING_UV_SHARED=1', 'USING_V8_SHARED=1', 'BUILDING_NODE_EXTENSION', '_DARWIN_USE_64_BIT_INODE=1'],
    xcode_settings: {
      GCC_ENABLE_CPP_EXCEPTIONS: 'NO',
      GCC_ENABLE_CPP_RTTI: 'NO',
      GCC_OPTIMIZATION_LEVEL: '3',
      GCC_SYMBOLS_PRIVATE_EXTERN: 'YES',
      CLANG_CXX_LANGUAGE_STANDARD: 'gnu++17',
      MACOSX_DEPLOYMENT_TARGET: '10.15',
      OTHER_CFLAGS: ['-fno-strict-aliasing'],
      WARNING_CFLAGS: ['-Wall', '-Wendif-labels', '-W', '-Wno-unused-parameter'],
    },
  },
};

// xcode_settings keys this script turns into flags, and those that change
// nothing for a command-line build.
const XCODE_IGNORED = new Set(['ALWAYS_SEARCH_USER_PATHS', 'GCC_CW_ASM_SYNTAX', 'GCC_DYNAMIC_NO_PIC', 'GCC_ENABLE_PASCAL_STRINGS', 'PREBINDING', 'USE_HEADERMAP', 'ARCHS', 'CLANG_CXX_LIBRARY']);

/** Flags for one target from the gyp reading: `{ common, c, cxx, link, zigTarget, note }`. */
function flagsFor(addon, target) {
  if (target.platform !== 'darwin') {
    return {
      zigTarget: target.zig,
      common: [...addon.cflags],
      c: [...addon.cflagsC],
      cxx: [...addon.cflagsCC],
      link: [...addon.ldflags.filter((flag) => flag !== '-rdynamic'), ...addon.libraries],
    };
  }
  const xcode = addon.xcodeSettings;
  for (const key of Object.keys(xcode)) {
    if (!XCODE_IGNORED.has(key) && !/^(GCC_ENABLE_CPP_EXCEPTIONS|GCC_ENABLE_CPP_RTTI|GCC_OPTIMIZATION_LEVEL|GCC_SYMBOLS_PRIVATE_EXTERN|CLANG_CXX_LANGUAGE_STANDARD|GCC_C_LANGUAGE_STANDARD|MACOSX_DEPLOYMENT_TARGET|OTHER_CFLAGS|OTHER_CPLUSPLUSFLAGS|WARNING_CFLAGS|OTHER_LDFLAGS)$/.test(key)) {
      throw new Error(`${addon.name}: the prebuild script does not understand xcode_settings.${key}`);
    }
  }
  const list = (value) => (Array.isArray(value) ? value : value === undefined ? [] : String(value).split(/\s+/).filter(Boolean));
  const wanted = String(xcode.MACOSX_DEPLOYMENT_TARGET ?? ZIG_MIN_MACOS);
  const macos = compareVersions(wanted, ZIG_MIN_MACOS) < 0 ? ZIG_MIN_MACOS : wanted;
  const otherC = list(xcode.OTHER_CFLAGS);
  const otherCxx = list(xcode.OTHER_CPLUSPLUSFLAGS).flatMap((flag) => (flag === '$(inherited)' ? otherC : [flag]));
  return {
    zigTarget: `${target.zig}.${macos}`,
    note: macos !== wanted ? `macOS ${macos} (binding.gyp asks for ${wanted}; Zig 0.11's lowest)` : undefined,
    common: [
      `-O${xcode.GCC_OPTIMIZATION_LEVEL ?? '3'}`,
      ...(xcode.GCC_SYMBOLS_PRIVATE_EXTERN === 'YES' ? ['-fvisibility=hidden'] : []),
      ...list(xcode.WARNING_CFLAGS),
    ],
    c: [...(xcode.GCC_C_LANGUAGE_STANDARD ? [`-std=${xcode.GCC_C_LANGUAGE_STANDARD}`] : []), ...otherC],
    cxx: [
      `-std=${xcode.CLANG_CXX_LANGUAGE_STANDARD ?? 'gnu++17'}`,
      xcode.GCC_ENABLE_CPP_EXCEPTIONS === 'YES' ? '-fexceptions' : '-fno-exceptions',
      ...(xcode.GCC_ENABLE_CPP_RTTI === 'YES' ? [] : ['-fno-rtti']),
      ...(xcode.OTHER_CPLUSPLUSFLAGS === undefined ? otherC : otherCxx),
    ],
    link: [...list(xcode.OTHER_LDFLAGS).filter((flag) => flag !== '-Wl,-search_paths_first'), ...addon.libraries],
  };
}

/** Runs a command, bounded in time; resolves with its output, rejects with it on failure. */
function run(command, args, { cwd, env }) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), stepTimeout);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise(output);
      else reject(new Error(`${basename(command)} ${args.slice(0, 3).join(' ')} ... ${signal ? `was killed (${signal}${signal === 'SIGKILL' ? `, over ${stepTimeout / 1000}s` : ''})` : `exited ${code}`}\n${output.trim()}`));
    });
  });
}

async function pool(tasks, limit) {
  const results = [];
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      try {
        results[index] = { ok: true, value: await tasks[index]() };
      } catch (error) {
        results[index] = { ok: false, error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

// --- which packages, which targets -------------------------------------------
const packages = [];
for (const entry of readdirSync(join(root, 'packages')).sort()) {
  const directory = join(root, 'packages', entry);
  const manifestFile = join(directory, 'package.json');
  if (!existsSync(manifestFile) || !existsSync(join(directory, 'binding.gyp'))) continue;
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  if (options.package.length > 0 && !options.package.includes(manifest.name) && !options.package.includes(entry)) continue;
  const wanted = manifest.evloop?.prebuilds;
  if (!Array.isArray(wanted)) {
    log(`${manifest.name} has a binding.gyp but no "evloop": { "prebuilds": [...] } in its package.json: no prebuilds`);
    continue;
  }
  const targets = wanted.map(targetById).filter((target) => options.target.length === 0 || options.target.includes(target.id));
  packages.push({ name: manifest.name, directory, targets });
}
if (options.list) {
  for (const { name, targets } of packages) console.log(`${name}: ${targets.map((target) => target.id).join(' ')}`);
  process.exit(0);
}
if (packages.length === 0) throw new Error('no native package matched');

// --- Windows: the MinGW-w64 build of scripts/windows --------------------------
// Not Zig: `scripts/windows/run.sh build` cross-compiles every Windows addon
// (statically linked, against node.exe's Node-API import library) into
// .cache/windows/addons; the files `pnpm test:windows` tests under Wine are
// the ones copied here.
const windowsJobs = [];
for (const pkg of packages) {
  windowsJobs.push(...pkg.targets.filter((target) => target.builder === 'mingw').map((target) => ({ pkg, target })));
  pkg.targets = pkg.targets.filter((target) => target.builder !== 'mingw');
}
if (windowsJobs.length > 0) {
  log(`win32-x64 with MinGW-w64: ${windowsJobs.map((job) => job.pkg.name).join(', ')}`);
  const built = spawnSync('bash', [join(root, 'scripts', 'windows', 'run.sh'), 'build'], { cwd: root, stdio: 'inherit', timeout: stepTimeout });
  if (built.status !== 0) throw new Error(`scripts/windows/run.sh build failed (${built.error?.message ?? `exit ${built.status}`})`);
  const objdumpPe = 'x86_64-w64-mingw32-objdump';
  for (const { pkg, target } of windowsJobs) {
    const from = join(root, '.cache', 'windows', 'addons', basename(pkg.directory), 'prebuilds', 'win32-x64');
    const addons = existsSync(from) ? readdirSync(from).filter((file) => file.endsWith('.node')) : [];
    if (addons.length === 0) throw new Error(`${pkg.name} asks for win32-x64 prebuilds but the MinGW build made none (is win32 in its evloop.platforms?)`);
    for (const file of addons) {
      const destination = join(pkg.directory, prebuildPath(target, basename(file, '.node')));
      rmSync(destination, { force: true });
      const summary = inspect(objdumpPe, join(from, file), target);
      mkdirSync(dirname(destination), { recursive: true });
      copyFileSync(join(from, file), destination);
      log(`ok ${pkg.name} ${target.id}: ${relative(root, destination)} (${Math.round(statSync(destination).size / 1024)} KiB) after ${elapsed()}\n    ${summary}`);
    }
  }
}
for (let index = packages.length - 1; index >= 0; index--) if (packages[index].targets.length === 0) packages.splice(index, 1);
if (packages.length === 0) {
  log(`${windowsJobs.length} Windows prebuilds written and inspected in ${elapsed()}`);
  process.exit(0);
}

// --- toolchain ------------------------------------------------------------------
const cache = cacheDirectory(root);
const zig = findZig(cache, { log });
const nodeInclude = await findNodeHeaders(cache, { log });
const objdump = findObjdump();
const environment = {
  ...process.env,
  // `<!(node ...)` in binding.gyp runs this Node.
  PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
  ZIG_GLOBAL_CACHE_DIR: join(cache, 'zig-global-cache'),
  ZIG_LOCAL_CACHE_DIR: join(cache, 'zig-local-cache'),
};
log(`zig ${relative(root, zig).startsWith('..') ? zig : relative(root, zig)}; Node headers ${headersVersion(nodeInclude)} from ${nodeInclude}; ${jobs} job(s)`);

const work = mkdtempSync(join(tmpdir(), 'evloop-prebuild-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
// Only the Node-API entry points leave a Linux addon: the statically linked
// libc++ stays private, so it never meets the C++ runtime Node itself uses.
const versionScript = join(work, 'exports.map');
writeFileSync(versionScript, '{\n  global: napi_register_module_v1; node_api_module_get_api_version_v1;\n  local: *;\n};\n');

// --- one job per (package, binding.gyp target, prebuild target) ----------------
const builds = [];
for (const pkg of packages) {
  for (const target of pkg.targets) {
    const addons = readBindingGyp(join(pkg.directory, 'binding.gyp'), { OS: target.gypOS, target_arch: target.arch, host_arch: 'x64', node_root_dir: dirname(dirname(nodeInclude)) }, {
      defaults: GYP_DEFAULTS[target.gypOS],
      environment,
    });
    const modules = addons.filter((addon) => addon.type !== 'none');
    for (const addon of addons) {
      if (addon.type !== 'none' && addon.type !== 'loadable_module' && addon.type !== 'shared_library') {
        throw new Error(`${pkg.name}: binding.gyp target ${addon.name} is a ${addon.type}; the prebuild script builds addons (loadable_module) only`);
      }
    }
    if (modules.length === 0) throw new Error(`${pkg.name} asks for ${target.id} prebuilds but binding.gyp builds nothing for ${target.gypOS}`);
    for (const addon of modules) builds.push({ pkg, target, addon });
  }
}

async function build({ pkg, target, addon }) {
  const label = `${pkg.name} ${target.id}`;
  const flags = flagsFor(addon, target);
  const directory = join(work, `${basename(pkg.directory)}-${target.id}-${addon.name}`);
  mkdirSync(directory, { recursive: true });
  const base = [
    '-target', flags.zigTarget,
    ...addon.defines.map((define) => `-D${define}`),
    `-DNODE_GYP_MODULE_NAME=${addon.name}`,
    ...addon.includeDirs.map((include) => `-I${include}`),
    '-isystem', nodeInclude,
    ...flags.common,
  ];
  const objects = [];
  for (const source of addon.sources) {
    const extension = extname(source);
    if (['.h', '.hh', '.hpp', '.gypi'].includes(extension)) continue;
    const isC = extension === '.c';
    if (!isC && !['.cc', '.cpp', '.cxx'].includes(extension)) throw new Error(`${label}: cannot compile ${source} (${extension})`);
    const object = join(directory, `${objects.length}-${basename(source)}.o`);
    await run(zig, [isC ? 'cc' : 'c++', ...base, ...(isC ? flags.c : flags.cxx), '-c', source, '-o', object], { cwd: pkg.directory, env: environment });
    objects.push(object);
  }
  const output = join(directory, `${addon.name}.node`);
  const link =
    target.platform === 'darwin'
      ? ['-shared', '-undefined', 'dynamic_lookup', '-s']
      : ['-shared', `-Wl,--version-script=${versionScript}`, '-s'];
  await run(zig, ['c++', '-target', flags.zigTarget, ...link, ...objects, ...flags.link, '-o', output], { cwd: pkg.directory, env: environment });
  const summary = inspect(objdump, output, target);
  const destination = join(pkg.directory, prebuildPath(target, addon.name));
  mkdirSync(dirname(destination), { recursive: true });
  renameSync(output, destination);
  const size = `${Math.round(statSync(destination).size / 1024)} KiB`;
  log(`ok ${label}: ${relative(root, destination)} (${size}) after ${elapsed()}${flags.note ? `; ${flags.note}` : ''}\n    ${summary}`);
  return destination;
}

// Stale files of the targets being rebuilt go first, so a failed build never
// leaves an old binary behind to be published.
for (const { pkg, target, addon } of builds) rmSync(join(pkg.directory, prebuildPath(target, addon.name)), { force: true });
log(`${builds.length} builds: ${packages.map((pkg) => `${pkg.name} (${pkg.targets.map((target) => target.id).join(', ')})`).join('; ')}`);
const results = await pool(builds.map((job) => () => build(job)), jobs);
const failures = results.map((result, index) => ({ result, job: builds[index] })).filter(({ result }) => !result.ok);
for (const { job, result } of failures) console.error(`prebuild: FAILED ${job.pkg.name} ${job.target.id}: ${result.error.message}`);
if (failures.length > 0) {
  console.error(`prebuild: ${failures.length} of ${builds.length} builds failed after ${elapsed()}`);
  process.exit(1);
}
log(`${builds.length} prebuilds written and inspected in ${elapsed()}`);
