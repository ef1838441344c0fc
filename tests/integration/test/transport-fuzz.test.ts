// Property-based fuzz of what a connection hands out: a stream transport, a
// datagram transport, a TLS transport (both ends), a StreamReader/StreamWriter
// pair, and SSLContext, on both loop families (a selector loop on epoll, a
// proactor loop on io_uring where the kernel allows it). Each
// run makes them on a fresh loop over socketpairs and loopback UDP, calls
// up to six random methods with random argument shapes (garbage and
// plausible values mixed), runs the loop briefly and closes it. Every call
// returns or throws (or its future fails with) a typed error: a TypeError
// or RangeError that the library made (not the engine), an OSError,
// RuntimeError, CancelledError, or the stream errors (IncompleteReadError,
// LimitOverrunError); no crash, no hang, no fd left open, and nothing
// untyped reaches the exception handler.
import fs from 'node:fs';
import { CancelledError, IncompleteReadError, LimitOverrunError, OSError, type ExceptionContext } from '@evloop/interface';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeCertificates, opensslAvailable, type Certificates } from '@evloop/conformance';
import {
  Future,
  ProactorEventLoop,
  Protocol,
  RuntimeError,
  SSLContext,
  SelectorEventLoop,
  StreamReader,
  openConnection,
  setSysModule,
  type BaseEventLoop,
  type SysModule,
} from '@evloop/core-policy';
import { backend as uring } from '@evloop/proactor-uring';
import * as sys from '@evloop/sys';
import { afterAll, beforeAll } from 'vitest';
import { testSelector } from './helpers.js';

const RUNS = Number(process.env.EVLOOP_FUZZ_RUNS ?? 120);
setSysModule(sys as unknown as SysModule);

const garbage = fc.constantFrom<unknown>(undefined, null, true, Number.NaN, Number.POSITIVE_INFINITY, -1, 0, 1.5, 2 ** 53, 1n, Symbol('s'), {}, [], [[]], [1, 2], 'text', new ArrayBuffer(2), new Uint16Array(3), () => {});
const data = fc.oneof(fc.uint8Array({ maxLength: 64 }).map((array) => Buffer.from(array)), fc.uint8Array({ maxLength: 16 }), garbage);
const count = fc.oneof(fc.integer({ min: -3, max: 100 }), garbage);
const limit = fc.oneof(fc.integer({ min: -2, max: 1 << 20 }), garbage);
const list = fc.oneof(fc.array(data, { maxLength: 3 }), garbage);
const separator = fc.oneof(fc.constantFrom<unknown>('\n', '', 'ab', Buffer.from('x'), ['\n', 'x'], []), garbage);
const address = fc.oneof(fc.tuple(fc.constantFrom<unknown>('127.0.0.1', '::1', '', 42), fc.oneof(fc.integer({ min: -1, max: 70_000 }), garbage)), garbage);
const name = fc.oneof(fc.constantFrom<unknown>('socket', 'sockname', 'peername', 'sslcontext', 'nothing'), garbage);

const PROTOCOL = Symbol('protocol');
type Target = 'transport' | 'datagram' | 'tls' | 'tlsPeer' | 'writer' | 'reader' | 'loneReader';
type Step = { target: Target; method: string; args: readonly unknown[] };
/** A stream transport's public methods, plain or TLS (TLS writeEof raises NotImplementedError, a RuntimeError, as asyncio's). */
function streamTransportSteps(): Record<string, fc.Arbitrary<readonly unknown[]>> {
  return {
    write: fc.tuple(data),
    writelines: fc.tuple(list),
    writeEof: fc.constant([]),
    setWriteBufferLimits: fc.tuple(limit, limit),
    getWriteBufferSize: fc.constant([]),
    pauseReading: fc.constant([]),
    resumeReading: fc.constant([]),
    getExtraInfo: fc.tuple(name, garbage),
    setProtocol: fc.tuple(fc.oneof(fc.constant<unknown>(PROTOCOL), garbage)),
    close: fc.constant([]),
    abort: fc.constant([]),
  };
}
const steps: Record<Target, Record<string, fc.Arbitrary<readonly unknown[]>>> = {
  transport: streamTransportSteps(),
  tls: streamTransportSteps(),
  tlsPeer: streamTransportSteps(),
  datagram: {
    sendto: fc.tuple(data, address),
    getExtraInfo: fc.tuple(name),
    close: fc.constant([]),
    abort: fc.constant([]),
  },
  writer: {
    write: fc.tuple(data),
    writelines: fc.tuple(list),
    writeEof: fc.constant([]),
    drain: fc.constant([]),
    close: fc.constant([]),
    waitClosed: fc.constant([]),
    getExtraInfo: fc.tuple(name, garbage),
    startTls: fc.tuple(garbage, garbage),
  },
  reader: {
    read: fc.tuple(count),
    readexactly: fc.tuple(count),
    readuntil: fc.tuple(separator),
    readline: fc.constant([]),
    atEof: fc.constant([]),
  },
  // A reader fed by the test itself, not by a transport.
  loneReader: {
    feedData: fc.tuple(data),
    feedEof: fc.constant([]),
    read: fc.tuple(count),
    readexactly: fc.tuple(count),
    readuntil: fc.tuple(separator),
    readline: fc.constant([]),
    setException: fc.tuple(fc.constant<unknown>(new RuntimeError('fed'))),
  },
};
const step: fc.Arbitrary<Step> = fc.oneof(
  ...Object.entries(steps).flatMap(([target, methods]) => Object.entries(methods).map(([method, args]) => args.map((values) => ({ target: target as Target, method, args: values })))),
);

// TypeErrors that the engine makes, not the library: they name no argument.
const ENGINE_TYPE_ERROR = /is not a function|Cannot read propert|Cannot convert|is not iterable|Cannot destructure|Cannot create property|is not a constructor|Cannot mix BigInt/;

function typed(error: unknown): boolean {
  if (error instanceof TypeError) return !ENGINE_TYPE_ERROR.test(error.message);
  return (
    error instanceof RangeError ||
    OSError.isInstance(error) ||
    RuntimeError.isInstance(error) ||
    CancelledError.isInstance(error) ||
    IncompleteReadError.isInstance(error) ||
    LimitOverrunError.isInstance(error)
  );
}

function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

function isAwaitable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as PromiseLike<unknown>).then === 'function';
}

async function runBriefly(loop: BaseEventLoop): Promise<void> {
  const done = loop.createFuture<void>();
  loop.callLater(0.005, () => done.setResult(undefined));
  await loop.runUntilComplete(done);
}

const uringAvailable = uring.available();
const families: Array<[title: string, skip: string | false, make: () => BaseEventLoop]> = [
  ['selector loop (epoll)', false, () => new SelectorEventLoop(testSelector())],
  ['proactor loop (io_uring)', uringAvailable.ok ? false : `io_uring unavailable here: ${uringAvailable.ok ? '' : uringAvailable.reason}`, () => new ProactorEventLoop(uring.createProactor!())],
];
let certs: Certificates | undefined;

describe.skipIf(process.platform !== 'linux')('transport, stream and SSLContext fuzz', () => {
  beforeAll(() => {
    if (opensslAvailable) certs = makeCertificates();
  });
  afterAll(() => {
    if (certs !== undefined) fs.rmSync(certs.dir, { recursive: true, force: true });
  });

  for (const [family, skip, makeLoop] of families) {
    const tlsNote = opensslAvailable ? 'TLS too' : 'not TLS: no openssl CLI to make certificates';
    it.skipIf(skip !== false)(`${RUNS} runs of up to six random calls on transports (${tlsNote}) and streams give only typed errors, close cleanly and leak no fd: ${family}${skip === false ? '' : ` (skipped: ${skip})`}`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 6 }), async (sequence) => {
          const before = openFds();
          const loop = makeLoop();
          const untyped: string[] = [];
          loop.setExceptionHandler((_loop, context: ExceptionContext) => {
            // A protocol set by setProtocol(garbage) that lacks a callback fails in it: reported as asyncio does.
            if (/^Fatal error: protocol\.\w+\(\) call failed\.$/.test(context.message)) return;
            if (!typed(context.exception)) untyped.push(`exception handler: ${context.message}: ${String(context.exception)}`);
          });
          const pending: Future<unknown>[] = [];
          const closers: (() => void)[] = [];
          try {
            const targets = await loop.runUntilComplete(async () => {
              const [a, b] = sys.socketpair(sys.AF_UNIX, sys.SOCK_STREAM, 0, { blocking: false });
              const [transport] = await loop.createConnection(() => new Protocol(), null, null, { sock: a });
              closers.push(() => transport.abort());
              const [reader, writer] = await openConnection(null, null, { sock: b, limit: 64 });
              closers.push(() => writer.transport.abort());
              const [datagram] = await loop.createDatagramEndpoint(() => new Protocol(), { localAddr: ['127.0.0.1', 0] });
              closers.push(() => datagram.abort());
              let tls: unknown = null;
              let tlsPeer: unknown = null;
              if (certs !== undefined) {
                const [c, s] = sys.socketpair(sys.AF_UNIX, sys.SOCK_STREAM, 0, { blocking: false });
                const serverContext = new SSLContext('server');
                serverContext.loadCertChain(certs.serverCert, certs.serverKey);
                const clientContext = new SSLContext('client');
                clientContext.loadVerifyLocations({ cafile: certs.caFile });
                const serverSide = loop.connectAcceptedSocket(() => new Protocol(), s, { ssl: serverContext });
                const clientSide = loop.createConnection(() => new Protocol(), null, null, { sock: c, ssl: clientContext, serverHostname: 'localhost' });
                const [client] = await clientSide;
                closers.push(() => client.abort());
                const [server] = await serverSide;
                closers.push(() => server.abort());
                tls = client;
                tlsPeer = server;
              }
              return { transport, datagram, tls, tlsPeer, writer, reader, loneReader: new StreamReader({ limit: 16, loop }) } as Record<Target, unknown>;
            });
            for (const { target, method, args } of sequence) {
              if (targets[target] === null) continue; // no TLS without certificates
              const values = args.map((arg) => (arg === PROTOCOL ? new Protocol() : arg));
              let result: unknown;
              try {
                result = (targets[target] as Record<string, (...list: unknown[]) => unknown>)[method]!(...values);
              } catch (error) {
                if (!typed(error)) untyped.push(`${target}.${method}(${values.map((value) => typeof value).join(', ')}) threw ${String(error)}`);
                continue;
              }
              // Coroutines (read, drain, ...) run as tasks, so their outcome is seen.
              if (isAwaitable(result)) pending.push(loop.createTask(result as PromiseLike<unknown>));
            }
            await runBriefly(loop);
            for (const future of pending) {
              if (!future.done()) {
                future.cancel();
                continue;
              }
              if (future.cancelled()) continue;
              const error = future.exception();
              if (error !== null && !typed(error)) untyped.push(`a future failed with ${String(error)}`);
            }
            await runBriefly(loop);
          } finally {
            for (const close of closers) close();
            await runBriefly(loop);
            loop.close();
          }
          expect(untyped).toEqual([]);
          expect(openFds()).toBe(before);
        }),
        { numRuns: RUNS },
      );
    }, 120_000);
  }

  it(`${RUNS} runs of random SSLContext construction, setters and loaders give only typed errors`, () => {
    const purpose = fc.oneof(fc.constantFrom<unknown>('client', 'server'), garbage);
    const path = fc.oneof(fc.constantFrom<unknown>('/nonexistent/cert.pem', '', '.'), garbage);
    const setters: Record<string, fc.Arbitrary<unknown>> = {
      verifyMode: fc.oneof(fc.integer({ min: -1, max: 3 }), garbage),
      checkHostname: fc.oneof(fc.boolean(), garbage),
      minimumVersion: fc.oneof(fc.constantFrom<unknown>('TLSv1.2', 'TLSv1.3', 'SSLv3', 'MINIMUM_SUPPORTED', 'MAXIMUM_SUPPORTED'), garbage),
      maximumVersion: fc.oneof(fc.constantFrom<unknown>('TLSv1.2', 'TLSv1.3', 'TLSv9'), garbage),
    };
    const calls: Record<string, fc.Arbitrary<readonly unknown[]>> = {
      loadCertChain: fc.tuple(path, fc.oneof(path, fc.constant(null)), fc.oneof(fc.constant<unknown>('pw'), garbage)),
      loadVerifyLocations: fc.tuple(fc.oneof(fc.record({ cafile: path, capath: path, cadata: fc.oneof(data, fc.constant<unknown>('-----BEGIN CERTIFICATE-----\nxx\n')) }, { requiredKeys: [] }), garbage)),
      setAlpnProtocols: fc.tuple(fc.oneof(fc.array(fc.oneof(fc.string({ maxLength: 300 }), garbage), { maxLength: 3 }), garbage)),
      setCiphers: fc.tuple(fc.oneof(fc.constantFrom<unknown>('ECDHE+AESGCM', 'NOT-A-CIPHER', ''), garbage)),
      loadDefaultCerts: fc.constant([]),
      secureContext: fc.constant([]),
    };
    type ContextStep = { kind: 'set'; name: string; value: unknown } | { kind: 'call'; name: string; args: readonly unknown[] };
    const contextStep: fc.Arbitrary<ContextStep> = fc.oneof(
      ...Object.entries(setters).map(([name, value]) => value.map((v): ContextStep => ({ kind: 'set', name, value: v }))),
      ...Object.entries(calls).map(([name, args]) => args.map((a): ContextStep => ({ kind: 'call', name, args: a }))),
    );
    fc.assert(
      fc.property(purpose, fc.array(contextStep, { maxLength: 5 }), (which, sequence) => {
        const untyped: string[] = [];
        let context: SSLContext;
        try {
          context = new SSLContext(which as 'client');
        } catch (error) {
          if (!typed(error)) untyped.push(`new SSLContext(${typeof which}) threw ${String(error)}`);
          expect(untyped).toEqual([]);
          return;
        }
        for (const entry of sequence) {
          try {
            if (entry.kind === 'set') (context as unknown as Record<string, unknown>)[entry.name] = entry.value;
            else (context as unknown as Record<string, (...list: unknown[]) => unknown>)[entry.name]!(...entry.args);
          } catch (error) {
            if (!typed(error)) untyped.push(`${entry.kind} ${entry.name} threw ${String(error)}`);
          }
        }
        expect(untyped).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });
});
