// Holds the headers to what the TypeScript side expects, on a test addon
// compiled from them alone (test/probe-addon.cc), and compiles every header
// on its own, so each one includes what it uses.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { errnoName, OSError, toOSError } from '@evloop/interface';
import { afterAll, describe, expect, it } from 'vitest';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
const includeDir = join(packageRoot, 'include');
const addonApi = dirname(require.resolve('node-addon-api/package.json'));
const nodeInclude = resolve(dirname(process.execPath), '..', 'include', 'node');

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

const compiler = process.platform === 'win32' ? undefined : findCompiler();
const skip =
  compiler === undefined
    ? 'no C++ compiler (g++ or clang++) to build the test addon'
    : !existsSync(join(nodeInclude, 'node_api.h')) || !existsSync(join(nodeInclude, 'uv.h'))
      ? `Node's headers (node_api.h, uv.h) are not in ${nodeInclude}`
      : false;

const output = mkdtempSync(join(tmpdir(), 'evloop-native-core-'));
afterAll(() => rmSync(output, { recursive: true, force: true }));

const flags = [
  '-std=c++17', '-fPIC', '-Wall', '-Wextra', '-Wshadow', '-Werror', '-fno-exceptions',
  '-DNAPI_VERSION=8', '-DNAPI_DISABLE_CPP_EXCEPTIONS', '-DNODE_ADDON_API_DISABLE_DEPRECATED',
  '-I', includeDir, '-isystem', addonApi, '-isystem', nodeInclude,
];

interface ProbeAddon {
  errorFor(errno: number, syscall: string): Error & { errno: number; code: string; syscall: string };
  throwStatus(errno: number, syscall: string, rangeError?: string): void;
  timeoutMs(ms: number): number;
  fill(out: unknown, timeoutMs: unknown, count: number): [number, number];
  span(buffer: unknown, offset: unknown, length: unknown): [number, number];
  platform: string;
  unsupported: { unsupportedReason: string };
}

function buildProbe(): ProbeAddon {
  const addon = join(output, 'probe.node');
  execFileSync(compiler!, [...flags, '-shared', '-O1', join(packageRoot, 'test', 'probe-addon.cc'), '-o', addon], {
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 240_000,
  });
  return require(addon) as ProbeAddon;
}

describe.skipIf(skip !== false)(`the headers${skip === false ? '' : ` (skipped: ${skip})`}`, () => {
  const probe = skip === false ? buildProbe() : (undefined as unknown as ProbeAddon);

  it('every header compiles on its own, warnings as errors', () => {
    const headers = readdirSync(join(includeDir, 'evloop')).filter((name) => name.endsWith('.h'));
    expect(headers).toEqual(expect.arrayContaining(['arguments.h', 'errors.h', 'event_buffer.h', 'fd_watch.h', 'idle_waiter.h', 'platform.h', 'selector_binding.h', 'status.h']));
    for (const header of headers) {
      const source = join(output, `${header}.cc`);
      writeFileSync(source, `#include "evloop/${header}"\n#include "evloop/${header}"\n`);
      execFileSync(compiler!, [...flags, '-fsyntax-only', source], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 240_000 });
    }
    // Seven compiles of node-addon-api: generous on a loaded machine; a compile error, not the time, fails this.
  }, 600_000);

  it('a syscall error has errno, code (the name @evloop/interface gives that errno) and syscall', () => {
    for (const [name, errno] of Object.entries(constants.errno)) {
      const error = probe.errorFor(errno, 'test_call');
      expect(error).toBeInstanceOf(Error);
      expect(error.errno).toBe(errno);
      expect(error.syscall).toBe('test_call');
      expect(error.code, name).toBe(errnoName(errno));
      expect(error.message.startsWith(`test_call ${error.code} (`)).toBe(true);
    }
    expect(probe.errorFor(4000, 'x').code).toBe('E4000');
  });

  it('toOSError turns that shape into the typed OSError with the same code', () => {
    const typed = toOSError(probe.errorFor(constants.errno.ECONNRESET, 'recv'));
    expect(OSError.isInstance(typed)).toBe(true);
    expect(typed).toMatchObject({ errno: constants.errno.ECONNRESET, code: 'ECONNRESET', syscall: 'recv', name: 'ConnectionResetError' });
  });

  it('ThrowStatus throws the syscall error, or a RangeError for an argument the mechanism cannot take', () => {
    expect(() => probe.throwStatus(constants.errno.EBADF, 'epoll_ctl')).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'epoll_ctl' }));
    expect(() => probe.throwStatus(0, '', 'fd 2000 is out of range')).toThrow(new RangeError('fd 2000 is out of range'));
  });

  it('one timeout rule: whole milliseconds rounded up, negative or NaN is forever, capped at 2^31 - 1', () => {
    expect([0, 0.001, 0.5, 1, 1.0001, 2.5, 1000].map((ms) => probe.timeoutMs(ms))).toEqual([0, 1, 1, 1, 2, 3, 1000]);
    expect([-1, -0.5, Number.NaN, Number.NEGATIVE_INFINITY].map((ms) => probe.timeoutMs(ms))).toEqual([-1, -1, -1, -1]);
    expect([2 ** 31, 1e12, Number.POSITIVE_INFINITY].map((ms) => probe.timeoutMs(ms))).toEqual([2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1]);
  });

  it('the event buffer: (token, events) pairs in the caller\'s Int32Array, its arguments checked', () => {
    const out = new Int32Array(7);
    expect(probe.fill(out, 2.2, 10)).toEqual([3, 3]);
    expect([...out]).toEqual([0, 0, 1, -1, 2, -2, 0]);
    expect(() => probe.fill(new Int32Array(1), 0, 1)).toThrow(RangeError);
    expect(() => probe.fill(new Float64Array(4), 0, 1)).toThrow(TypeError);
    expect(() => probe.fill(new Int32Array(4), '1', 1)).toThrow(TypeError);
  });

  it('ReadSpan: (buffer, offset, length) within the buffer (a view\'s own offset counted), else a TypeError or RangeError', () => {
    const backing = Buffer.alloc(16);
    const view = backing.subarray(4, 12);
    expect(probe.span(view, 2, 6)).toEqual([2, 6]);
    expect(probe.span(view, 0, 0)).toEqual([0, 0]);
    expect(() => probe.span(view, 2, 7)).toThrow(RangeError);
    expect(() => probe.span(view, -1, 1)).toThrow(RangeError);
    expect(() => probe.span(view, Number.NaN, 1)).toThrow(RangeError);
    expect(() => probe.span('bytes', 0, 1)).toThrow(TypeError);
    expect(() => probe.span(view, '0', 1)).toThrow(TypeError);
  });

  it('one way to say "not on this platform": only unsupportedReason, naming the mechanism, this platform and what it needs', () => {
    expect(probe.platform).toBe(process.platform);
    expect(probe.unsupported).toEqual({ unsupportedReason: `kqueue does not exist on ${process.platform}; it needs macOS or a BSD` });
  });
});

describe('the package', () => {
  it('include_dir (CommonJS and ESM) is the include folder, relative to the working directory, and include_path absolute', async () => {
    const cjs = require('@evloop/native-core') as { include_dir: string; include_path: string };
    const esm = (await import('@evloop/native-core')) as { include_dir: string; include_path: string };
    for (const entry of [cjs, esm]) {
      expect(resolve(entry.include_dir)).toBe(includeDir.replace(/\/$/, ''));
      expect(entry.include_path).toBe(includeDir.replace(/\/$/, ''));
      expect(existsSync(join(entry.include_dir, 'evloop', 'errors.h'))).toBe(true);
    }
  });

  it('evloop-native refuses an unknown command and a folder without binding.gyp', () => {
    const script = join(packageRoot, 'bin', 'evloop-native.mjs');
    for (const [args, cwd] of [[['frobnicate'], packageRoot], [['build'], packageRoot]] as const) {
      let status = 0;
      try {
        execFileSync(process.execPath, [script, ...args], { cwd, stdio: 'pipe' });
      } catch (error) {
        status = (error as { status: number }).status;
      }
      expect(status).toBe(2);
    }
  });
});
