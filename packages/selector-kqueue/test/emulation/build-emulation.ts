// Builds the real src/native sources over kqueue-emulation.cc with the host
// compiler, for the emulated tests on Linux (see emulated-kqueue.test.ts).
import { execFileSync, execSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { NativeSelectorBinding } from '@evloop/interface';
import { afterAll } from 'vitest';

const packageRoot = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(import.meta.url);

function findCompiler(): string | undefined {
  for (const candidate of [process.env.CXX, 'g++', 'clang++']) {
    if (!candidate) continue;
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

const nodeInclude = resolve(dirname(process.execPath), '..', 'include', 'node');
const compiler = process.platform === 'linux' ? findCompiler() : undefined;
/** Why the emulated addon cannot be built here, or false when it can. */
export const emulationSkip: string | false =
  process.platform !== 'linux'
    ? `the emulation is for Linux, this is ${process.platform}`
    : compiler === undefined
      ? 'no C++ compiler (g++ or clang++) to build the emulated addon'
      : !existsSync(join(nodeInclude, 'node_api.h')) || !existsSync(join(nodeInclude, 'uv.h'))
        ? `Node's headers (node_api.h, uv.h) are not in ${nodeInclude}`
        : false;

interface GypTarget {
  sources: string[];
  include_dirs: string[];
  defines: string[];
}

/** binding.gyp's target: the sources, include folders and defines both builds share. */
function gypTarget(): GypTarget {
  const gyp = JSON.parse(readFileSync(join(packageRoot, 'binding.gyp'), 'utf8')) as { targets: GypTarget[] };
  return gyp.targets[0]!;
}

/**
 * An include folder of binding.gyp as gyp sees it: a `<!(command)` entry is
 * the command's output, run in the package folder (so the headers are found
 * through require.resolve, as in an installed package), relative to it.
 */
function includeFolder(entry: string): string {
  const command = /^<!\((.*)\)$/.exec(entry);
  if (command === null) return resolve(packageRoot, entry);
  return resolve(packageRoot, execSync(command[1]!, { cwd: packageRoot, encoding: 'utf8' }).trim());
}

export type EmulatedNative = { Selector: new () => NativeSelectorBinding };

/**
 * Builds the addon over the emulation (with `defines` on top) into a fresh
 * folder, loads it, and writes beside it a minimal entry module exporting
 * `backend`, for the suite's child-process checks (does the libuv watch let
 * Node exit?).
 */
export function buildEmulatedAddon(defines: string[] = []): { addon: string; native: EmulatedNative; entryUrl: URL; backendModule: string } {
  const output = mkdtempSync(join(tmpdir(), 'evloop-kqueue-emulation-'));
  afterAll(() => rmSync(output, { recursive: true, force: true }));
  const addon = join(output, 'selector_kqueue_emulated.node');
  const target = gypTarget();
  // The sources, include folders and defines of binding.gyp, the flags of
  // scripts/cross-check.sh, warnings as errors; EVLOOP_KQUEUE_EMULATION
  // makes evloop/platform.h count Linux as having kqueue.
  execFileSync(
    compiler!,
    [
      '-std=c++17', '-shared', '-fPIC', '-O1', '-g', '-fno-exceptions', '-fvisibility=hidden',
      '-Wall', '-Wextra', '-Wshadow', '-Werror',
      ...target.defines.map((define) => `-D${define}`), '-DEVLOOP_KQUEUE_EMULATION', ...defines,
      '-isystem', join(packageRoot, 'test', 'emulation'),
      ...target.include_dirs.flatMap((entry) => ['-isystem', includeFolder(entry)]), '-isystem', nodeInclude,
      ...target.sources.map((source) => join(packageRoot, source)),
      join(packageRoot, 'test', 'emulation', 'kqueue-emulation.cc'),
      '-o', addon,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'], timeout: 240_000 },
  );
  writeFileSync(
    join(output, 'entry.mjs'),
    [
      "import { createRequire } from 'node:module';",
      "const { Selector: Kqueue } = createRequire(import.meta.url)('./selector_kqueue_emulated.node');",
      'export const backend = {',
      '  createSelector() {',
      '    const binding = new Kqueue();',
      '    return { watch: (onReady) => binding.watch(onReady), unwatch: () => binding.unwatch(), close: () => binding.close() };',
      '  },',
      '};',
      '',
    ].join('\n'),
  );
  // A whole backend descriptor over the emulated addon, with KqueueSelector's
  // shape (the built @evloop/interface's NativeSelector), for the loop-level
  // suites' child processes: their policy takes it instead of discovery,
  // which finds the real package, unusable on Linux.
  const interfaceEntry = require.resolve('@evloop/interface');
  writeFileSync(
    join(output, 'backend.cjs'),
    [
      `const { BACKEND_SPECIFICATION_VERSION, NativeSelector } = require(${JSON.stringify(interfaceEntry)});`,
      "const { Selector: Kqueue } = require('./selector_kqueue_emulated.node');",
      'class EmulatedKqueueSelector extends NativeSelector {',
      "  backendName = 'kqueue';",
      '  constructor() { super(new Kqueue()); }',
      '}',
      'exports.backend = Object.freeze({',
      "  specificationVersion: BACKEND_SPECIFICATION_VERSION, name: 'kqueue', kind: 'selector', packageName: '@evloop/selector-kqueue',",
      "  platforms: ['linux'], available: () => ({ ok: true, notes: 'kqueue emulated over epoll, for tests' }),",
      '  createSelector: () => new EmulatedKqueueSelector(),',
      '});',
      '',
    ].join('\n'),
  );
  return {
    addon,
    native: require(addon) as EmulatedNative,
    entryUrl: pathToFileURL(join(output, 'entry.mjs')),
    backendModule: join(output, 'backend.cjs'),
  };
}

