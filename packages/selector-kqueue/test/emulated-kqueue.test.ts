// Runs the real native code (src/native/kqueue.cc and addon.cc) on Linux over
// test/emulation/kqueue-emulation.cc, an epoll-backed stand-in for kqueue(2)
// and kevent(2). It checks the addon's logic (receipts, merging, rollback,
// EINTR, the libuv watch and its lifetimes) with the shared suite; it cannot
// check how a real macOS or BSD kernel behaves, which only a run there does.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runSelectorConformance } from '@evloop/conformance';
import { NativeSelector, type NativeSelectorBinding } from '@evloop/interface';
import { afterAll, describe } from 'vitest';
import { describeKqueueQuirks } from './kqueue-quirks.js';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
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
const skip =
  process.platform !== 'linux'
    ? `the emulation is for Linux, this is ${process.platform}`
    : compiler === undefined
      ? 'no C++ compiler (g++ or clang++) to build the emulated addon'
      : !existsSync(join(nodeInclude, 'node_api.h')) || !existsSync(join(nodeInclude, 'uv.h'))
        ? `Node's headers (node_api.h, uv.h) are not in ${nodeInclude}`
        : false;

type Native = { Kqueue: new () => NativeSelectorBinding };

/**
 * Builds the addon over the emulation (with `defines` on top) into a fresh
 * folder, loads it, and writes beside it a minimal entry module exporting
 * `backend`, for the suite's child-process checks (does the libuv watch let
 * Node exit?).
 */
function buildEmulatedAddon(defines: string[]): { native: Native; entryUrl: URL } {
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
      '-DNAPI_VERSION=8', '-DNAPI_DISABLE_CPP_EXCEPTIONS', '-DNODE_ADDON_API_DISABLE_DEPRECATED', ...defines,
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
  return { native: require(addon) as Native, entryUrl: pathToFileURL(join(output, 'entry.mjs')) };
}

const variants = [
  { title: 'emulated kqueue on Linux', defines: [] },
  // OpenBSD and older NetBSD: no EV_RECEIPT, so kqueue.cc applies one change per call.
  { title: 'emulated kqueue without EV_RECEIPT on Linux', defines: ['-DEVLOOP_EMULATE_NO_EV_RECEIPT'] },
];

for (const variant of variants) {
  const built = skip === false ? buildEmulatedAddon(variant.defines) : undefined;

  /** KqueueSelector's shape, over this emulated addon. */
  class EmulatedKqueueSelector<T = unknown> extends NativeSelector<T> {
    readonly backendName = 'kqueue';

    constructor() {
      super(new built!.native.Kqueue());
    }
  }

  describe.skipIf(skip !== false)(`${variant.title}${skip === false ? '' : ` (${skip})`}`, () => {
    runSelectorConformance({
      name: 'kqueue',
      create: () => new EmulatedKqueueSelector(),
      features: { pollsRegularFiles: true, scalesBeyondFdSetsize: true, hasKernelFd: true },
      ...(built === undefined ? {} : { entryUrl: built.entryUrl }),
    });
    describeKqueueQuirks('kqueue quirks', false, () => new EmulatedKqueueSelector());
  });
}
