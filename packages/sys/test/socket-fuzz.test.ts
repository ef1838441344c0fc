// Property-based fuzz of Socket's methods: random argument shapes (and some
// well-formed ones, so calls get past the checks), a few calls per run on a
// fresh non-blocking socket. Every call returns or throws a TypeError,
// RangeError or OSError; nothing crashes, blocks or leaks an fd. Addresses
// are loopback only: any host string is replaced unless it names loopback.
import { isIP } from 'node:net';
import { NotImplementedError, OSError } from '@evloop/interface';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AF_INET, AF_INET6, AF_UNIX, IPPROTO_TCP, SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET, SO_RCVBUF, Socket, socketpair } from '../src/index.js';
import { checkFdLeaks, onWindows } from './helpers.js';

checkFdLeaks();

const RUNS = Number(process.env.EVLOOP_FUZZ_RUNS ?? 200);

const garbage = fc.constantFrom<unknown>(undefined, null, true, false, Number.NaN, Number.POSITIVE_INFINITY, -1, 1.5, 2 ** 31, 2 ** 53, -(2 ** 31) - 1, 1n, Symbol('s'), () => 0, {}, [], [[]], new ArrayBuffer(3), new Float64Array(2), new DataView(new ArrayBuffer(2)));
// A host string: loopback, or text that is not an IP address at all.
const host = fc.oneof(fc.constantFrom('127.0.0.1', '::1', '', '\0abstract', 'localhost'), fc.string({ maxLength: 12 }).filter((text) => isIP(text) === 0 && !/^[0-9.:a-f]+$/i.test(text)));
const port = fc.oneof(fc.integer({ min: -2, max: 70_000 }), garbage);
const address = fc.oneof(fc.tuple(host, port), fc.tuple(host, port, fc.integer(), fc.integer()), fc.tuple(host), host, garbage);
const bytes = fc.oneof(fc.uint8Array({ maxLength: 64 }).map((array) => Buffer.from(array)), fc.uint8Array({ maxLength: 64 }), fc.string({ maxLength: 8 }));
const smallInt = fc.oneof(fc.integer({ min: -4, max: 70_000 }), garbage);
const value = fc.oneof(garbage, smallInt, bytes, address, fc.array(bytes, { maxLength: 3 }));

type Call = { method: string; args: readonly unknown[] };
// Methods and the shapes of their arguments. setBlocking is left out: a
// blocking socket could make a later call in the same run wait forever.
const calls: Record<string, fc.Arbitrary<readonly unknown[]>> = {
  fileno: fc.constant([]),
  bind: fc.tuple(address),
  listen: fc.array(smallInt, { maxLength: 1 }),
  accept: fc.array(fc.oneof(fc.constant({}), fc.record({ inheritable: value }), garbage), { maxLength: 1 }),
  connect: fc.tuple(address),
  connectEx: fc.tuple(address),
  recv: fc.tuple(smallInt, smallInt),
  recvInto: fc.tuple(fc.oneof(bytes, garbage), smallInt, smallInt),
  recvIntoAt: fc.tuple(fc.oneof(bytes, garbage), smallInt),
  recvfrom: fc.tuple(smallInt, smallInt),
  recvfromInto: fc.tuple(fc.oneof(bytes, garbage), smallInt, smallInt),
  send: fc.tuple(fc.oneof(bytes, garbage), smallInt),
  sendall: fc.tuple(fc.oneof(bytes, garbage), smallInt),
  sendto: fc.oneof(fc.tuple(fc.oneof(bytes, garbage), address), fc.tuple(fc.oneof(bytes, garbage), smallInt, address)),
  sendmsg: fc.tuple(fc.oneof(fc.array(bytes, { maxLength: 3 }), garbage), fc.oneof(fc.array(fc.array(value, { maxLength: 3 }), { maxLength: 2 }), garbage), smallInt),
  recvmsg: fc.tuple(smallInt, smallInt, smallInt),
  shutdown: fc.tuple(smallInt),
  getBlocking: fc.constant([]),
  setInheritable: fc.tuple(value),
  getInheritable: fc.constant([]),
  setsockopt: fc.oneof(fc.tuple(smallInt, smallInt, value), fc.tuple(fc.constant(SOL_SOCKET), fc.constant(SO_RCVBUF), value), fc.tuple(fc.constant(IPPROTO_TCP), smallInt, value)),
  getsockopt: fc.oneof(fc.tuple(smallInt, smallInt), fc.tuple(smallInt, smallInt, smallInt), fc.tuple(fc.constant(SOL_SOCKET), fc.constant(SO_RCVBUF), value)),
  getsockname: fc.constant([]),
  getpeername: fc.constant([]),
  dup: fc.constant([]),
  detach: fc.constant([]),
  close: fc.constant([]),
  toString: fc.constant([]),
};
const call: fc.Arbitrary<Call> = fc.oneof(...Object.entries(calls).map(([method, args]) => args.map((list) => ({ method, args: list }))));

function allowed(error: unknown): boolean {
  // On Windows, what Winsock lacks (sendmsg, recvmsg, ...) is NotImplementedError.
  return error instanceof TypeError || error instanceof RangeError || OSError.isInstance(error) || (onWindows && NotImplementedError.isInstance(error));
}

/** Call `method` with `args`; release whatever it hands back (a socket, a detached fd). */
function invoke(sock: Socket, { method, args }: Call): void {
  let result: unknown;
  try {
    result = (sock as unknown as Record<string, (...list: unknown[]) => unknown>)[method]!(...args);
  } catch (error) {
    if (!allowed(error)) throw new Error(`${method}(${args.map(String).join(', ')}) threw ${String(error)}`, { cause: error });
    return;
  }
  if (result instanceof Socket) result.close();
  if (Array.isArray(result) && result[0] instanceof Socket) result[0].close();
  if (method === 'detach' && typeof result === 'number' && result >= 0) new Socket({ fileno: result }).close();
}

function fuzz(name: string, make: () => Socket[]): void {
  it(`${name}: ${RUNS} runs of up to four random calls give only typed errors and leak nothing`, () => {
    fc.assert(
      fc.property(fc.array(call, { minLength: 1, maxLength: 4 }), (sequence) => {
        const sockets = make();
        try {
          for (const sock of sockets) sock.setBlocking(false);
          for (const step of sequence) invoke(sockets[0]!, step);
        } finally {
          for (const sock of sockets) sock.close();
        }
      }),
      { numRuns: RUNS },
    );
  });
}

describe('Socket fuzz', () => {
  fuzz('TCP (IPv4)', () => [new Socket(AF_INET, SOCK_STREAM)]);
  fuzz('TCP (IPv6)', () => [new Socket(AF_INET6, SOCK_STREAM)]);
  fuzz('UDP', () => [new Socket(AF_INET, SOCK_DGRAM)]);
  // A connected Unix pair with data waiting. Any string is a path for
  // AF_UNIX, so a random bind could create a file: this one gets every
  // method but those that take an address.
  (onWindows ? it.skip : it)(`Unix socket pair${onWindows ? ' (skipped: needs AF_UNIX, which Windows has not)' : ''}: ${RUNS} runs of calls other than bind/connect give only typed errors and leak nothing`, () => {
    const noPaths = fc.oneof(...Object.entries(calls).filter(([method]) => !['bind', 'connect', 'connectEx', 'sendto', 'sendmsg'].includes(method)).map(([method, args]) => args.map((list) => ({ method, args: list }))));
    fc.assert(
      fc.property(fc.array(noPaths, { minLength: 1, maxLength: 4 }), (sequence) => {
        const pair = socketpair(AF_UNIX, SOCK_STREAM);
        try {
          for (const sock of pair) sock.setBlocking(false);
          pair[1].send(Buffer.from('data for recv'));
          for (const step of sequence) invoke(pair[0], step);
        } finally {
          for (const sock of pair) sock.close();
        }
      }),
      { numRuns: RUNS },
    );
  });
});
