// Every addon function, called with a wrong value in each argument position
// in turn (the other arguments valid, the fd one that is not open): each call
// must return or throw a TypeError/RangeError or an errno error; never crash,
// never touch memory outside the buffers it was given.
import { constants as osConstants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { AF_INET, AF_UNIX, SOCK_STREAM } from '../src/index.js';
import { native } from '../src/load-native.js';
import { checkFdLeaks, onWindows } from './helpers.js';

checkFdLeaks();

const NOT_OPEN = 1_000_000;
const wrongValues: unknown[] = [
  undefined,
  null,
  'x',
  '',
  {},
  [],
  [1, 2],
  -1,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  2 ** 53,
  -(2 ** 31) - 1,
  1n,
  true,
  Symbol('s'),
  () => 0,
  Buffer.alloc(0),
  new Float64Array(2),
  new DataView(new ArrayBuffer(3)),
  new ArrayBuffer(5),
];

const buffer = (): Buffer => Buffer.alloc(8);
const inet = (): unknown[] => [AF_INET, '127.0.0.1', 9, 0, 0];

const templates: Record<string, () => unknown[]> = {
  pipe: () => [false],
  openpty: () => [],
  socket: () => [AF_UNIX, SOCK_STREAM, 0, false],
  socketpair: () => [AF_UNIX, SOCK_STREAM, 0, false],
  read: () => [NOT_OPEN, buffer(), 0, 8],
  write: () => [NOT_OPEN, buffer(), 0, 8],
  sendfile: () => [NOT_OPEN, NOT_OPEN, 0, 8],
  close: () => [NOT_OPEN],
  dup: () => [NOT_OPEN],
  setBlocking: () => [NOT_OPEN, true],
  getBlocking: () => [NOT_OPEN],
  setInheritable: () => [NOT_OPEN, false],
  getInheritable: () => [NOT_OPEN],
  bind: () => [NOT_OPEN, ...inet()],
  connect: () => [NOT_OPEN, ...inet()],
  listen: () => [NOT_OPEN, 5],
  accept: () => [NOT_OPEN, false],
  send: () => [NOT_OPEN, buffer(), 0, 8, 0],
  recv: () => [NOT_OPEN, buffer(), 0, 8, 0],
  sendto: () => [NOT_OPEN, buffer(), 0, 8, 0, ...inet()],
  recvfrom: () => [NOT_OPEN, buffer(), 0, 8, 0],
  shutdown: () => [NOT_OPEN, 0],
  getsockname: () => [NOT_OPEN],
  getpeername: () => [NOT_OPEN],
  setsockoptInt: () => [NOT_OPEN, 1, 2, 1],
  setsockoptBytes: () => [NOT_OPEN, 1, 2, buffer(), 0, 8],
  getsockoptInt: () => [NOT_OPEN, 1, 2],
  getsockoptBytes: () => [NOT_OPEN, 1, 2, buffer(), 0, 8],
  socketInfo: () => [NOT_OPEN],
  cmsgSpace: () => [4],
  cmsgLen: () => [4],
  sendmsg: () => [NOT_OPEN, [buffer()], [[1, 1, buffer()]], 0, ...inet()],
  recvmsg: () => [NOT_OPEN, buffer(), 0, 8, 64, 0],
  createPipeServer: () => [`\\\\.\\pipe\\evloop-arguments-${process.pid}`, 1],
  openPipeClient: () => [`\\\\.\\pipe\\evloop-arguments-none-${process.pid}`, true],
  connectPipeServer: () => [NOT_OPEN],
  fileType: () => [NOT_OPEN],
};

function acceptable(error: unknown): boolean {
  if (error instanceof TypeError || error instanceof RangeError) return true;
  const record = error as { errno?: unknown; syscall?: unknown };
  return error instanceof Error && typeof record.errno === 'number' && typeof record.syscall === 'string';
}

// The Windows addon has no pipes, PTYs, sendfile or sendmsg/recvmsg (the TypeScript layer raises NotImplementedError).
const posixOnlyExports = new Set(['pipe', 'openpty', 'sendfile', 'cmsgSpace', 'cmsgLen', 'sendmsg', 'recvmsg']);
// Named pipes are Windows only (the TypeScript layer raises NotImplementedError elsewhere).
const windowsOnlyExports = new Set(['createPipeServer', 'openPipeClient', 'connectPipeServer', 'fileType']);
const notExported = (name: string): boolean => (onWindows ? posixOnlyExports.has(name) : windowsOnlyExports.has(name));

describe('addon argument matrix', () => {
  it('covers every function the addon exports', () => {
    const exported = Object.keys(native).filter((name) => typeof (native as unknown as Record<string, unknown>)[name] === 'function');
    const expected = Object.keys(templates).filter((name) => !notExported(name));
    expect(exported.sort()).toEqual(expected.sort());
  });

  for (const [name, template] of Object.entries(templates)) {
    const skip = notExported(name);
    (skip ? it.skip : it)(`${name}: a wrong value in any position is rejected or fails cleanly${skip ? ` (skipped: not exported on ${onWindows ? 'Windows' : 'POSIX'})` : ''}`, () => {
      const fn = (native as unknown as Record<string, (...args: unknown[]) => unknown>)[name]!;
      const positions = template().length + 1; // one past the end too: a missing argument
      for (let position = 0; position < positions; position++) {
        for (const wrong of wrongValues) {
          const args = template();
          if (position < args.length) args[position] = wrong;
          else args.length = Math.max(0, args.length - 1); // drop the last argument
          let result: unknown;
          try {
            result = fn(...args);
          } catch (error) {
            expect(acceptable(error), `${name} #${position} = ${String(wrong)}: ${String(error)}`).toBe(true);
            continue;
          }
          // A wrong value that happens to be valid (true for a boolean) may create fds: close them.
          if (name === 'pipe' || name === 'openpty' || name === 'socket' || name === 'socketpair' || name === 'createPipeServer' || name === 'openPipeClient') {
            for (const fd of ([] as number[]).concat(result as number | number[])) native.close(fd);
            continue;
          }
          // Calls that went through to the kernel: the fd is not open, so a data-path call reports -EBADF.
          if (typeof result === 'number' && name !== 'cmsgSpace' && name !== 'cmsgLen') expect(result).toBeLessThan(0);
        }
      }
    });
  }
});

describe('the native error shape (evloop/errors.h)', () => {
  it('a failed call throws an Error with errno, code and syscall, and a message naming all three', () => {
    let error: unknown;
    try {
      native.close(NOT_OPEN);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(Error);
    if (onWindows) {
      // Not a socket, so CloseHandle, which says the handle is not open: EBADF, as on POSIX.
      expect(error).toMatchObject({ errno: osConstants.errno.EBADF, code: 'EBADF', syscall: 'CloseHandle' });
      expect((error as Error).message).toMatch(/^CloseHandle EBADF \(.+\)$/);
      return;
    }
    expect(error).toMatchObject({ errno: 9, code: 'EBADF', syscall: 'close' });
    expect((error as Error).message).toMatch(/^close EBADF \(.+\)$/);
  });
});

describe('byte spans: every kind of bytes sends exactly [offset, offset + length)', () => {
  // The native functions take any TypedArray, DataView or ArrayBuffer; their TypeScript types say Uint8Array.
  const send = native.send as unknown as (fd: number, bytes: unknown, offset: number, length: number, flags: number) => number;
  const recv = native.recv as unknown as (fd: number, bytes: unknown, offset: number, length: number, flags: number) => number;
  // send(fd, bytes, offset, length) over a socketpair, then recv: exactly the
  // bytes [offset, offset + length) of what `bytes` views must arrive.
  const roundTrip = (bytes: ArrayBufferView | ArrayBuffer, offset: number, length: number): number[] => {
    const [a, b] = native.socketpair(AF_UNIX, SOCK_STREAM, 0, true) as [number, number];
    try {
      expect(send(a, bytes, offset, length, 0)).toBe(length);
      const into = Buffer.alloc(64, 0xee);
      const count = length === 0 ? 0 : (native.recv(b, into, 0, 64, 0) as number);
      return [...into.subarray(0, count)];
    } finally {
      native.close(a);
      native.close(b);
    }
  };

  it.skipIf(onWindows)('a Buffer cut from a larger one sends from its own offset (skipped on Windows: AF_UNIX socketpair)', () => {
    const whole = Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(roundTrip(whole.subarray(3, 8), 1, 3)).toEqual([4, 5, 6]);
    expect(roundTrip(whole.subarray(3, 8), 0, 5)).toEqual([3, 4, 5, 6, 7]);
  });

  it.skipIf(onWindows)('wider typed arrays count bytes, not elements; DataView and ArrayBuffer too (skipped on Windows: AF_UNIX socketpair)', () => {
    const words = new Uint16Array([0x0201, 0x0403, 0x0605]);
    expect(roundTrip(words, 0, 6)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(roundTrip(new Float64Array(2), 8, 8)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    const raw = new Uint8Array([9, 8, 7, 6, 5]).buffer;
    expect(roundTrip(new DataView(raw, 1, 3), 1, 2)).toEqual([7, 6]);
    expect(roundTrip(raw, 2, 3)).toEqual([7, 6, 5]);
  });

  it('a span past the end is a RangeError naming the argument, for every kind of bytes', () => {
    for (const bytes of [Buffer.alloc(8), new Uint32Array(2), new DataView(new ArrayBuffer(8)), new ArrayBuffer(8)]) {
      expect(() => send(NOT_OPEN, bytes, 9, 0, 0)).toThrow(RangeError);
      expect(() => send(NOT_OPEN, bytes, 9, 0, 0)).toThrow(/offset/);
      expect(() => send(NOT_OPEN, bytes, 4, 5, 0)).toThrow(/length/);
      expect(() => send(NOT_OPEN, bytes, 0.5, 1, 0)).toThrow(/offset/);
      expect(() => recv(NOT_OPEN, bytes, 0, 9, 0)).toThrow(/length/);
    }
  });
});
