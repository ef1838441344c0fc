// Property-based fuzz of the loop's public methods: random argument shapes
// (garbage and plausible values mixed), up to four calls per run on a fresh
// loop, then one iteration and close(). Every call returns or throws (or its
// future fails with) a TypeError, RangeError, OSError or RuntimeError; no
// crash, no hang, no fd left open, no unexpected exception handler call.
// Hosts are numeric loopback addresses or not strings at all (never a name
// that would go to DNS), paths live in a temporary directory, and nothing
// that could be a real fd number is handed to pipe methods.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OSError, type ExceptionContext } from '@evloop/interface';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Future, Protocol, RuntimeError, SelectorEventLoop } from '@evloop/core-policy';
import * as sys from '@evloop/sys';
import { testSelector } from './helpers.js';

const RUNS = Number(process.env.EVLOOP_FUZZ_RUNS ?? 150);
const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'evloop-fuzz-'));
afterAll(() => fs.rmSync(directory, { recursive: true, force: true }));

const garbage = fc.constantFrom<unknown>(undefined, null, true, Number.NaN, Number.POSITIVE_INFINITY, -1, 1.5, 2 ** 53, 1n, Symbol('s'), {}, [], [[]], 'text', new ArrayBuffer(2), { fileno: () => -1 }, { fileno: 'x' });
const host = fc.constantFrom<unknown>('127.0.0.1', '::1', '', null, 42, ['127.0.0.1'], {});
const port = fc.oneof(fc.integer({ min: -2, max: 70_000 }), fc.constantFrom<unknown>('80', 'http', '', null, 1.5, {}));
const unixPath = fc.oneof(
  fc.string({ maxLength: 20 }).map((name) => path.join(directory, name.replace(/[\0/]/g, '_'))),
  fc.constant(path.join(directory, 'x'.repeat(300))),
  garbage,
);
const delay = fc.oneof(fc.double({ min: -1, max: 0.001, noNaN: true }), garbage);
const callback = fc.oneof(fc.constant<unknown>(() => {}), garbage);
const factory = fc.oneof(fc.constant<unknown>(() => new Protocol()), garbage);
const options = fc.oneof(fc.constant<unknown>({}), fc.record({ family: fc.oneof(fc.integer({ min: -1, max: 30 }), garbage) }, { requiredKeys: [] }), garbage);
const bytes = fc.oneof(fc.uint8Array({ maxLength: 16 }).map((array) => Buffer.from(array)), garbage);

type Step = { method: string; args: readonly unknown[] };
// `socket` in an argument list is replaced by a real non-blocking socket of the run.
const SOCKET = Symbol('socket');
const sockArg = fc.oneof(fc.constant<unknown>(SOCKET), garbage);
const steps: Record<string, fc.Arbitrary<readonly unknown[]>> = {
  callSoon: fc.tuple(callback, garbage),
  callLater: fc.tuple(delay, callback),
  callAt: fc.tuple(delay, callback),
  callSoonThreadsafe: fc.tuple(callback),
  createFuture: fc.constant([]),
  createTask: fc.tuple(garbage),
  addReader: fc.tuple(sockArg, callback),
  addWriter: fc.tuple(sockArg, callback),
  removeReader: fc.tuple(sockArg),
  removeWriter: fc.tuple(sockArg),
  setExceptionHandler: fc.tuple(garbage),
  callExceptionHandler: fc.tuple(garbage),
  setDebug: fc.tuple(garbage),
  setDefaultExecutor: fc.tuple(garbage),
  getaddrinfo: fc.tuple(host, port, options),
  getnameinfo: fc.tuple(fc.oneof(fc.tuple(fc.constantFrom('127.0.0.1', '::1'), port), garbage), fc.oneof(fc.integer({ min: -1, max: 16 }), garbage)),
  sockRecv: fc.tuple(sockArg, fc.oneof(fc.integer({ min: -2, max: 100 }), garbage)),
  sockRecvInto: fc.tuple(sockArg, bytes),
  sockSendall: fc.tuple(sockArg, bytes),
  sockSendto: fc.tuple(sockArg, bytes, fc.oneof(fc.tuple(host, port), garbage)),
  sockConnect: fc.tuple(sockArg, fc.oneof(fc.tuple(host, port), garbage)),
  sockAccept: fc.tuple(sockArg),
  createConnection: fc.tuple(factory, host, port, options),
  createServer: fc.tuple(factory, host, port, options),
  createUnixConnection: fc.tuple(factory, unixPath, options),
  createUnixServer: fc.tuple(factory, unixPath, options),
  createDatagramEndpoint: fc.tuple(factory, options),
  connectReadPipe: fc.tuple(factory, garbage),
  connectWritePipe: fc.tuple(factory, garbage),
};
const step: fc.Arbitrary<Step> = fc.oneof(...Object.entries(steps).map(([method, args]) => args.map((list) => ({ method, args: list }))));

// TypeErrors that the engine makes, not the loop: they name no argument.
const ENGINE_TYPE_ERROR = /is not a function|Cannot read propert|Cannot convert|is not iterable|Cannot destructure|Cannot create property|is not a constructor|Cannot mix BigInt/;

function typed(error: unknown): boolean {
  if (error instanceof TypeError) return !ENGINE_TYPE_ERROR.test(error.message);
  return error instanceof RangeError || OSError.isInstance(error) || RuntimeError.isInstance(error);
}

function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** Close whatever a call handed back: servers, transports, sockets. */
function release(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) release(item);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const closable = value as { close?: () => void; waitClosed?: unknown };
  if (typeof closable.close === 'function') closable.close();
}

/** Run the loop for a few milliseconds (a timer it owns ends the run). */
async function runBriefly(loop: SelectorEventLoop): Promise<void> {
  const done = loop.createFuture<void>();
  loop.callLater(0.005, () => done.setResult(undefined));
  await loop.runUntilComplete(done);
}

describe.skipIf(process.platform !== 'linux')('loop fuzz', () => {
  it(`${RUNS} runs of up to four random calls give only typed errors, close cleanly and leak no fd`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 4 }), async (sequence) => {
        const before = openFds();
        const loop = new SelectorEventLoop(testSelector());
        const [a, b] = sys.socketpair(sys.AF_UNIX, sys.SOCK_STREAM, 0, { blocking: false });
        const untyped: string[] = [];
        loop.setExceptionHandler((_loop, context: ExceptionContext) => {
          if (context.exception !== undefined && !typed(context.exception)) untyped.push(`exception handler: ${String(context.exception ?? context.message)}`);
        });
        const futures: Future<unknown>[] = [];
        try {
          for (const { method, args } of sequence) {
            const list = args.map((arg) => (arg === SOCKET ? a : arg));
            let result: unknown;
            try {
              result = (loop as unknown as Record<string, (...values: unknown[]) => unknown>)[method]!(...list);
            } catch (error) {
              if (!typed(error)) untyped.push(`${method} threw ${String(error)}`);
              continue;
            }
            if (result instanceof Future) futures.push(result);
            else if (method === 'callSoon' || method === 'callLater' || method === 'callAt' || method === 'callSoonThreadsafe') (result as { cancel(): void }).cancel();
          }
          // One bounded run: whatever was started gets one chance to settle.
          await runBriefly(loop);
          for (const future of futures) {
            if (!future.done()) {
              future.cancel();
              continue;
            }
            if (future.cancelled()) continue;
            const error = future.exception();
            if (error !== null && !typed(error)) untyped.push(`a future failed with ${String(error)}`);
            if (error === null) release(future.result());
          }
          await runBriefly(loop);
        } finally {
          loop.removeReader(a);
          loop.removeWriter(a);
          a.close();
          b.close();
          await loop.runUntilComplete(loop.shutdownDefaultExecutor());
          loop.close();
        }
        expect(untyped).toEqual([]);
        // A name lookup still running on libuv's thread pool (getnameinfo
        // reads /etc/hosts) may hold an fd for a moment after the loop closed.
        for (let wait = 0; wait < 40 && openFds() !== before; wait++) await new Promise((resolve) => setTimeout(resolve, 25));
        expect(openFds()).toBe(before);
      }),
      { numRuns: RUNS },
    );
  }, 120_000);
});
