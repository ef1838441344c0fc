// Builds the real src/native sources over kqueue-emulation.cc with the host
// compiler, for the emulated tests on Linux (see emulated-kqueue.test.ts).
import { execFileSync } from 'node:child_process';
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

/** The defines binding.gyp gives the kqueue platforms, so both builds agree. */
function gypDefines(): string[] {
  const gyp = JSON.parse(readFileSync(join(packageRoot, 'binding.gyp'), 'utf8')) as {
    targets: Array<{ conditions: Array<[string, { defines: string[] }]> }>;
  };
  return gyp.targets[0]!.conditions[0]![1].defines;
}

export type EmulatedNative = { Kqueue: new () => NativeSelectorBinding };

/**
 * Builds the addon over the emulation (with `defines` on top) into a fresh
 * folder, loads it, and writes beside it a minimal entry module exporting
 * `backend`, for the suite's child-process checks (does the libuv watch let
 * Node exit?).
 */
export function buildEmulatedAddon(defines: string[] = []): { addon: string; native: EmulatedNative; entryUrl: URL } {
  const output = mkdtempSync(join(tmpdir(), 'evloop-kqueue-emulation-'));
  afterAll(() => rmSync(output, { recursive: true, force: true }));
  const addon = join(output, 'selector_kqueue_emulated.node');
  const addonApi = dirname(require.resolve('node-addon-api/package.json'));
  // The flags of binding.gyp and scripts/cross-check.sh, warnings as errors.
  execFileSync(
    compiler!,
    [
      '-std=c++17', '-shared', '-fPIC', '-O1', '-g', '-fno-exceptions', '-fvisibility=hidden',
      '-Wall', '-Wextra', '-Wshadow', '-Werror',
      ...gypDefines().map((define) => `-D${define}`), ...defines,
      '-isystem', join(packageRoot, 'test', 'emulation'),
      '-isystem', addonApi, '-isystem', nodeInclude,
      join(packageRoot, 'src', 'native', 'addon.cc'),
      join(packageRoot, 'src', 'native', 'kqueue.cc'),
      join(packageRoot, 'test', 'emulation', 'kqueue-emulation.cc'),
      '-o', addon,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'], timeout: 240_000 },
  );
  writeFileSync(
    join(output, 'entry.mjs'),
    [
      "import { createRequire } from 'node:module';",
      "const { Kqueue } = createRequire(import.meta.url)('./selector_kqueue_emulated.node');",
      'export const backend = {',
      '  createSelector() {',
      '    const binding = new Kqueue();',
      '    return { watch: (onReady) => binding.watch(onReady), unwatch: () => binding.unwatch(), close: () => binding.close() };',
      '  },',
      '};',
      '',
    ].join('\n'),
  );
  return { addon, native: require(addon) as EmulatedNative, entryUrl: pathToFileURL(join(output, 'entry.mjs')) };
}

