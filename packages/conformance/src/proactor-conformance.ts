/**
 * The proactor conformance suite: the `Proactor` contract of
 * `@evloop/interface` driven directly with `@evloop/sys` sockets and pipes
 * (the scenarios of CPython's `IocpProactor` tests: recv, send, accept,
 * connect, cancel, close), plus what evloop adds: UDP, readiness polls,
 * cancellation of each operation kind in flight, buffers kept alive until
 * their completion, 10,000 concurrent operations, and an operation on a
 * socket closed underneath it. Each proactor backend calls
 * `runProactorConformance` from its `test/conformance.test.ts`; what a
 * backend cannot do is a feature flag, and a skip says why in its name.
 */
import { mkdtempSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sys from '@evloop/sys';
import {
  COMPLETION_MORE,
  COMPLETION_STRIDE,
  ConnectionRefusedError,
  EVENT_READ,
  EVENT_WRITE,
  NotImplementedError,
  OSError,
  RuntimeError,
  completionError,
  type Proactor,
} from '@evloop/interface';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gc, openFdCount } from './harness.js';

export interface ProactorFeatures {
  /** `fileno()` returns a kernel object (io_uring's fd); else -1. Default true. */
  hasKernelFd?: boolean;
  /** IPv6 loopback works on this machine. Default: probed. */
  ipv6?: boolean;
  /** `read`/`write`/`sendfile` work (pipes and files); else they raise NotImplementedError. Default true. */
  pipesAndFiles?: boolean;
  /** `sendfile` works (a file to a socket), with or without pipes; else it raises NotImplementedError. Default: `pipesAndFiles`. */
  sendfile?: boolean;
  /**
   * Why `read`/`write`/`sendfile` cannot be tested on a file (the file cases
   * are skipped with this reason) although pipes work. Unset: they can.
   */
  noFiles?: string;
  /** `pollAdd` works (addReader/addWriter on a proactor loop); else it raises NotImplementedError. Default true. */
  readiness?: boolean;
  /**
   * Why closing or shutting down a socket under an operation does not
   * complete it on this platform (the tests that count on it are skipped
   * with this reason). Unset: it does. Callers cancel before closing, as the
   * contract asks, either way.
   */
  closeLeavesOperations?: string;
}

export interface ProactorConformanceOptions {
  /** The backend name: shown in the describe block and checked against `backendName`. */
  name: string;
  /** Makes a fresh, open proactor. */
  create: () => Proactor;
  features?: ProactorFeatures;
  /** How many operations the concurrency test keeps in flight at once. Default 10,000. */
  concurrentOperations?: number;
}

/** One harvested completion, with its value taken while it was still valid. */
export interface Completion {
  token: number;
  result: number;
  flags: number;
  value: unknown;
}

/** Completions a `collect` harvested for tokens it was not asked about, kept for a later call. */
const stashed = new WeakMap<Proactor, Map<number, Completion>>();

/**
 * Poll until every token in `tokens` has completed, collecting each
 * completion once (a completion of another token is kept for the call that
 * asks for it). Bounded by `rounds` polls of up to 50 ms: a hang fails the
 * test instead of timing it out, and no pass depends on timing.
 */
export function collect(proactor: Proactor, tokens: Iterable<number>, rounds = 400): Map<number, Completion> {
  let stash = stashed.get(proactor);
  if (stash === undefined) stashed.set(proactor, (stash = new Map()));
  const wanted = new Set(tokens);
  const seen = new Map<number, Completion>();
  for (const token of wanted) {
    const early = stash.get(token);
    if (early === undefined) continue;
    stash.delete(token);
    seen.set(token, early);
    wanted.delete(token);
  }
  for (let round = 0; round < rounds && wanted.size > 0; round++) {
    const count = proactor.poll(0.05);
    const completions = proactor.completions;
    for (let i = 0; i < count; i++) {
      const token = completions[i * COMPLETION_STRIDE]!;
      if (seen.has(token) || stash.has(token)) throw new Error(`token ${token} completed twice`);
      const completion = { token, result: completions[i * COMPLETION_STRIDE + 1]!, flags: completions[i * COMPLETION_STRIDE + 2]!, value: proactor.completionValue(i) };
      if (wanted.delete(token)) seen.set(token, completion);
      else stash.set(token, completion);
    }
  }
  if (wanted.size > 0) throw new Error(`${wanted.size} operation(s) never completed (tokens ${[...wanted].slice(0, 5).join(', ')}...)`);
  return seen;
}

/** Poll until `token` completes and return its completion. */
export function complete(proactor: Proactor, token: number): Completion {
  return collect(proactor, [token]).get(token)!;
}

/** The code of a failed completion (`'ECANCELED'`...), or 'ok'. */
function codeOf(completion: Completion, syscall = 'op'): string {
  return completion.result < 0 ? completionError(completion.result, syscall).code : 'ok';
}

/** What a cancelled operation may complete with: cancelled, or interrupted. */
const CANCELLED_CODES = ['ECANCELED', 'EINTR'];

function ipv6Works(): boolean {
  try {
    const sock = new sys.Socket(sys.AF_INET6, sys.SOCK_DGRAM);
    try {
      sock.bind(['::1', 0]);
      return true;
    } finally {
      sock.close();
    }
  } catch {
    return false;
  }
}

export function runProactorConformance(options: ProactorConformanceOptions): void {
  const features = { hasKernelFd: true, pipesAndFiles: true, readiness: true, ...options.features };
  const noPipes = features.pipesAndFiles ? false : 'this proactor has no pipes or files';
  const noSendfile = (features.sendfile ?? features.pipesAndFiles) ? false : 'this proactor has no sendfile';
  const noFiles = noPipes || (features.noFiles ?? false);
  const noReadiness = features.readiness ? false : 'this proactor has no readiness polls';
  const noCompletionOnClose = features.closeLeavesOperations ?? false;
  /** Windows has no AF_UNIX socketpair in @evloop/sys, and drops no SYNs: a full backlog refuses. */
  const windows = process.platform === 'win32';
  const itUnless = (reason: string | false, title: string, body: () => void | Promise<void>) =>
    reason === false ? it(title, body) : it.skip(`${title} (skipped: ${reason})`, () => {});
  const concurrent = options.concurrentOperations ?? 10_000;

  describe(`proactor conformance: ${options.name}`, () => {
    let proactor: Proactor;
    let cleanups: Array<() => void>;
    let fdsBefore: number | null;

    /** Close at the end of the test, whatever happens. */
    function own<T extends { close(): void }>(resource: T): T {
      cleanups.push(() => resource.close());
      return resource;
    }

    function pair(type: number = sys.SOCK_STREAM): [sys.Socket, sys.Socket] {
      if (windows && type === sys.SOCK_DGRAM) {
        // Two loopback UDP sockets connected to each other.
        const [a, b] = [own(new sys.Socket(sys.AF_INET, sys.SOCK_DGRAM)), own(new sys.Socket(sys.AF_INET, sys.SOCK_DGRAM))];
        a.bind(['127.0.0.1', 0]);
        b.bind(['127.0.0.1', 0]);
        a.connect(b.getsockname() as [string, number]);
        b.connect(a.getsockname() as [string, number]);
        a.setBlocking(false);
        b.setBlocking(false);
        return [a, b];
      }
      const [a, b] = sys.socketpair(windows ? sys.AF_INET : sys.AF_UNIX, type, 0, { blocking: false });
      return [own(a), own(b)];
    }

    function pipe(): [number, number] {
      const [r, w] = sys.pipe();
      cleanups.push(() => {
        for (const fd of [r, w]) {
          try {
            sys.close(fd);
          } catch {
            // closed by the test
          }
        }
      });
      return [r, w];
    }

    function listener(family: number = sys.AF_INET): [sys.Socket, [string, number]] {
      const sock = own(new sys.Socket(family, sys.SOCK_STREAM));
      sock.setBlocking(false);
      sock.setsockopt(sys.SOL_SOCKET, sys.SO_REUSEADDR, 1);
      sock.bind([family === sys.AF_INET6 ? '::1' : '127.0.0.1', 0]);
      sock.listen(128);
      const address = sock.getsockname() as [string, number];
      return [sock, [address[0], address[1]]];
    }

    beforeEach(() => {
      cleanups = [];
      fdsBefore = openFdCount();
      proactor = options.create();
    });

    afterEach(() => {
      proactor.close();
      for (const cleanup of cleanups.reverse()) {
        try {
          cleanup();
        } catch {
          // already closed
        }
      }
      const after = openFdCount();
      if (fdsBefore !== null && after !== null) expect(after).toBe(fdsBefore);
    });

    describe('basics', () => {
      it('names its backend, starts empty and open', () => {
        expect(proactor.backendName).toBe(options.name);
        expect(proactor.closed).toBe(false);
        expect(proactor.pending).toBe(0);
        expect(proactor.poll(0)).toBe(0);
        if (features.hasKernelFd) expect(proactor.fileno()).toBeGreaterThanOrEqual(0);
        else expect(proactor.fileno()).toBe(-1);
      });

      it('close() is idempotent and every operation afterwards is a RuntimeError', () => {
        const [a] = pair();
        proactor.close();
        proactor.close();
        expect(proactor.closed).toBe(true);
        expect(() => proactor.recv(a, 10)).toThrow(RuntimeError);
        expect(() => proactor.send(a, Buffer.from('x'))).toThrow(RuntimeError);
        expect(() => proactor.poll(0)).toThrow(RuntimeError);
        expect(() => proactor.cancel(1)).toThrow(RuntimeError);
        expect(() => proactor.watch(() => {})).toThrow(RuntimeError);
        expect(() => proactor.unwatch()).not.toThrow();
      });

      it('rejects bad arguments with TypeError/RangeError naming them', () => {
        const [a] = pair();
        expect(() => proactor.recv(a, -1)).toThrow(/nbytes/);
        expect(() => proactor.recv(a, -1)).toThrow(RangeError);
        expect(() => proactor.recv(a, 'x' as unknown as number)).toThrow(TypeError);
        expect(() => proactor.recv({} as unknown as number, 10)).toThrow(TypeError);
        expect(() => proactor.recv(-3, 10)).toThrow(RangeError);
        expect(() => proactor.recvInto(a, 'text' as unknown as Uint8Array)).toThrow(TypeError);
        expect(() => proactor.recvInto(a, Buffer.alloc(4), 8)).toThrow(RangeError);
        expect(() => proactor.send(a, 'text' as unknown as Uint8Array)).toThrow(TypeError);
        expect(() => proactor.sendto(a, Buffer.from('x'), 42 as unknown as [string, number])).toThrow(TypeError);
        expect(() => proactor.sendto(a, Buffer.from('x'), ['127.0.0.1', 70000])).toThrow(RangeError);
        expect(() => proactor.connect(a, ['not-an-address', 80])).toThrow(/address host/);
        expect(() => proactor.pollAdd(a, 0)).toThrow(RangeError);
        expect(() => proactor.pollAdd(a, 8)).toThrow(RangeError);
        expect(() => proactor.read(a, 10, -2)).toThrow(RangeError);
        expect(() => proactor.watch('no' as unknown as () => void)).toThrow(TypeError);
        expect(proactor.pending).toBe(0);
      });

      it('cancel() of an unknown or already harvested token is false', () => {
        const [a, b] = pair();
        expect(proactor.cancel(123456)).toBe(false);
        const token = proactor.send(a, Buffer.from('x'));
        complete(proactor, token);
        expect(proactor.cancel(token)).toBe(false);
        expect(b.recv(10).toString()).toBe('x');
      });

      it('poll with a timeout and nothing in flight returns 0', () => {
        expect(proactor.poll(0.01)).toBe(0);
        expect(proactor.completionValue(0)).toBeUndefined();
      });
    });

    describe('stream sockets', () => {
      it('send and recv over a socket pair', () => {
        const [a, b] = pair();
        const sent = complete(proactor, proactor.send(a, Buffer.from('hello proactor')));
        expect(sent.result).toBe(14);
        const received = complete(proactor, proactor.recv(b, 100));
        expect(received.result).toBe(14);
        expect(Buffer.isBuffer(received.value)).toBe(true);
        expect((received.value as Buffer).toString()).toBe('hello proactor');
      });

      it('a recv started before the data arrives completes with it', () => {
        const [a, b] = pair();
        const token = proactor.recv(b, 100);
        expect(proactor.poll(0)).toBe(0);
        expect(proactor.pending).toBe(1);
        a.send(Buffer.from('later'));
        const received = complete(proactor, token);
        expect((received.value as Buffer).toString()).toBe('later');
        expect(proactor.pending).toBe(0);
      });

      it('recvInto fills the caller buffer (all of it, or its first nbytes)', () => {
        const [a, b] = pair();
        a.send(Buffer.from('abcdefgh'));
        const buffer = Buffer.alloc(16);
        const first = complete(proactor, proactor.recvInto(b, buffer, 3));
        expect(first.result).toBe(3);
        expect(first.value).toBeUndefined();
        expect(buffer.subarray(0, 3).toString()).toBe('abc');
        const rest = complete(proactor, proactor.recvInto(b, buffer));
        expect(buffer.subarray(0, rest.result).toString()).toBe('defgh');
      });

      it('recv at EOF completes with 0 bytes', () => {
        const [a, b] = pair();
        a.shutdown(sys.SHUT_WR);
        const received = complete(proactor, proactor.recv(b, 10));
        expect(received.result).toBe(0);
        expect((received.value as Buffer).length).toBe(0);
      });

      itUnless(noPipes, 'errors come back as completions: recv on a non-socket, send to a reset peer', () => {
        const [r] = pipe();
        const notSocket = complete(proactor, proactor.recv(r, 10));
        // Wine's WSARecv on a pipe HANDLE says WSAEOPNOTSUPP where Windows says WSAENOTSOCK.
        expect(process.env.EVLOOP_WINE === '1' ? ['ENOTSOCK', 'EOPNOTSUPP'] : ['ENOTSOCK']).toContain(codeOf(notSocket, 'recv'));
        const [a, b] = pair();
        b.close();
        let broken = complete(proactor, proactor.send(a, Buffer.from('x')));
        // Windows' pair is TCP: the first send after the peer closed may go
        // out; the reset it draws fails a later one.
        for (let i = 0; windows && broken.result >= 0 && i < 50; i++) broken = complete(proactor, proactor.send(a, Buffer.from('x')));
        expect(['EPIPE', 'ECONNRESET']).toContain(codeOf(broken, 'send'));
        expect(OSError.isInstance(completionError(broken.result, 'send'))).toBe(true);
      });

      it('an operation on an fd that is not open completes with EBADF', () => {
        const [a] = pair();
        const fd = a.fileno();
        a.close();
        const completion = complete(proactor, proactor.recv(fd, 10));
        expect(codeOf(completion)).toBe('EBADF');
      });

      it('large sends may be short and every byte arrives in order', () => {
        const [a, b] = pair();
        const data = Buffer.alloc(4 * 1024 * 1024);
        for (let i = 0; i < data.length; i++) data[i] = i % 251;
        const received: Buffer[] = [];
        let receivedBytes = 0;
        let offset = 0;
        let sendToken = proactor.send(a, data.subarray(offset));
        let recvToken = proactor.recv(b, 256 * 1024);
        for (let round = 0; round < 10_000 && receivedBytes < data.length; round++) {
          const count = proactor.poll(0.05);
          for (let i = 0; i < count; i++) {
            const token = proactor.completions[i * COMPLETION_STRIDE]!;
            const result = proactor.completions[i * COMPLETION_STRIDE + 1]!;
            expect(result).toBeGreaterThanOrEqual(0);
            if (token === sendToken) {
              offset += result;
              if (offset < data.length) sendToken = proactor.send(a, data.subarray(offset));
            } else if (token === recvToken) {
              received.push(Buffer.from(proactor.completionValue(i) as Buffer));
              receivedBytes += result;
              if (receivedBytes < data.length) recvToken = proactor.recv(b, 256 * 1024);
            }
          }
        }
        expect(offset).toBe(data.length);
        expect(Buffer.concat(received).equals(data)).toBe(true);
      });
    });

    describe('TCP over loopback', () => {
      it('accept and connect complete, with the peer address', () => {
        const [server, address] = listener();
        const acceptToken = proactor.accept(server);
        const client = own(new sys.Socket(sys.AF_INET, sys.SOCK_STREAM));
        client.setBlocking(false);
        const connectToken = proactor.connect(client, address);
        const done = collect(proactor, [acceptToken, connectToken]);
        expect(done.get(connectToken)!.result).toBe(0);
        const accepted = done.get(acceptToken)!;
        expect(accepted.result).toBeGreaterThanOrEqual(0);
        const [fd, peer] = accepted.value as [number, [string, number]];
        expect(fd).toBe(accepted.result);
        const conn = own(new sys.Socket({ fileno: fd }));
        expect(peer).toEqual(client.getsockname());
        expect(conn.getBlocking()).toBe(false);
        complete(proactor, proactor.send(client, Buffer.from('ping')));
        expect((complete(proactor, proactor.recv(conn, 10)).value as Buffer).toString()).toBe('ping');
      });

      it('acceptMany (where the kernel has it): one operation, one completion per connection, until cancelled', (context) => {
        if (proactor.acceptMany === undefined) {
          context.skip('this proactor has no multishot accept on this kernel');
          return;
        }
        const [server, address] = listener();
        const token = proactor.acceptMany(server);
        const clients = Array.from({ length: 3 }, () => {
          const client = own(new sys.Socket(sys.AF_INET, sys.SOCK_STREAM));
          client.connect(address);
          return client;
        });
        const accepted: number[] = [];
        for (let round = 0; round < 100 && accepted.length < clients.length; round++) {
          const count = proactor.poll(0.05);
          for (let i = 0; i < count; i++) {
            expect(proactor.completions[i * COMPLETION_STRIDE]).toBe(token);
            expect(proactor.completions[i * COMPLETION_STRIDE + 2]! & COMPLETION_MORE).toBe(COMPLETION_MORE);
            const [fd, peer] = proactor.completionValue(i) as [number, unknown];
            expect(fd).toBe(proactor.completions[i * COMPLETION_STRIDE + 1]);
            expect(peer).toBeNull();
            accepted.push(fd);
            own(new sys.Socket({ fileno: fd }));
          }
        }
        expect(accepted).toHaveLength(3);
        expect(proactor.pending).toBe(1);
        expect(proactor.cancel(token)).toBe(true);
        const last = complete(proactor, token);
        expect(CANCELLED_CODES).toContain(codeOf(last));
        expect(last.flags & COMPLETION_MORE).toBe(0);
        expect(proactor.pending).toBe(0);
      });

      it('connect to a closed port completes with ECONNREFUSED', () => {
        // Bound, never listening, held open: it refuses, and nothing else can take the port meanwhile.
        const holder = own(new sys.Socket(sys.AF_INET, sys.SOCK_STREAM));
        holder.bind(['127.0.0.1', 0]);
        const client = own(new sys.Socket(sys.AF_INET, sys.SOCK_STREAM));
        client.setBlocking(false);
        const refused = complete(proactor, proactor.connect(client, holder.getsockname() as [string, number]));
        const error = completionError(refused.result, 'connect');
        expect(ConnectionRefusedError.isInstance(error)).toBe(true);
        expect(error.syscall).toBe('connect');
      });

      it.runIf(features.ipv6 ?? ipv6Works())('IPv6: accept and connect report [host, port, flowinfo, scopeId]', () => {
        const [server, address] = listener(sys.AF_INET6);
        const acceptToken = proactor.accept(server);
        const client = own(new sys.Socket(sys.AF_INET6, sys.SOCK_STREAM));
        client.setBlocking(false);
        const connectToken = proactor.connect(client, address);
        const done = collect(proactor, [acceptToken, connectToken]);
        expect(done.get(connectToken)!.result).toBe(0);
        const [fd, peer] = done.get(acceptToken)!.value as [number, unknown[]];
        own(new sys.Socket({ fileno: fd }));
        expect(peer).toHaveLength(4);
        expect(peer[0]).toBe('::1');
      });
    });

    describe('datagrams', () => {
      it('sendto and recvfrom over UDP loopback report the sender', () => {
        const receiver = own(new sys.Socket(sys.AF_INET, sys.SOCK_DGRAM));
        receiver.bind(['127.0.0.1', 0]);
        receiver.setBlocking(false);
        const sender = own(new sys.Socket(sys.AF_INET, sys.SOCK_DGRAM));
        sender.bind(['127.0.0.1', 0]);
        sender.setBlocking(false);
        const recvToken = proactor.recvfrom(receiver, 100);
        const sent = complete(proactor, proactor.sendto(sender, Buffer.from('datagram'), receiver.getsockname() as [string, number]));
        expect(sent.result).toBe(8);
        const [data, from] = complete(proactor, recvToken).value as [Buffer, [string, number]];
        expect(data.toString()).toBe('datagram');
        expect(from).toEqual(sender.getsockname());

        complete(proactor, proactor.sendto(sender, Buffer.from('into'), receiver.getsockname() as [string, number]));
        const buffer = Buffer.alloc(16);
        const into = complete(proactor, proactor.recvfromInto(receiver, buffer));
        const [count, from2] = into.value as [number, [string, number]];
        expect(count).toBe(4);
        expect(buffer.subarray(0, 4).toString()).toBe('into');
        expect(from2).toEqual(sender.getsockname());
      });

      it('recvMany (where the kernel has it): one completion per arrival, in order; ended by ENOBUFS when its buffers run out, started again it gets the rest', (context) => {
        if (proactor.recvMany === undefined) {
          context.skip('this proactor has no multishot receive on this kernel');
          return;
        }
        const [a, b] = pair(sys.SOCK_DGRAM);
        // More datagrams than the proactor has buffers, all queued before it runs.
        const total = 200;
        for (let i = 0; i < total; i++) a.send(Buffer.from(`datagram ${i}`));
        const received: string[] = [];
        let token = proactor.recvMany(b);
        for (let round = 0; round < 200 && received.length < total; round++) {
          const count = proactor.poll(0.05);
          for (let i = 0; i < count; i++) {
            expect(proactor.completions[i * COMPLETION_STRIDE]).toBe(token);
            const result = proactor.completions[i * COMPLETION_STRIDE + 1]!;
            const flags = proactor.completions[i * COMPLETION_STRIDE + 2]!;
            if (result > 0) received.push((proactor.completionValue(i) as Buffer).toString());
            if ((flags & COMPLETION_MORE) === 0) {
              // Ended early: only because the buffers ran out (then started again).
              expect(codeOf({ token, result, flags, value: undefined })).toBe('ENOBUFS');
              token = proactor.recvMany(b);
            }
          }
        }
        expect(received).toEqual(Array.from({ length: total }, (_, i) => `datagram ${i}`));
        proactor.cancel(token);
        expect(CANCELLED_CODES).toContain(codeOf(complete(proactor, token)));
      });

      it('a datagram longer than the buffer is truncated to it', () => {
        const [a, b] = pair(sys.SOCK_DGRAM);
        a.send(Buffer.from('0123456789'));
        const received = complete(proactor, proactor.recv(b, 4));
        expect((received.value as Buffer).toString()).toBe('0123');
      });

      it('sendto an address of the wrong family completes or throws an OSError, never crashes', () => {
        const sock = own(new sys.Socket(sys.AF_INET, sys.SOCK_DGRAM));
        sock.setBlocking(false);
        let code: string;
        try {
          code = codeOf(complete(proactor, proactor.sendto(sock, Buffer.from('x'), ['::1', 9])), 'sendto');
        } catch (error) {
          expect(OSError.isInstance(error)).toBe(true);
          code = (error as OSError).code;
        }
        expect(['EAFNOSUPPORT', 'EINVAL']).toContain(code);
      });
    });

    describe('pipes and files', () => {
      it.runIf(!features.pipesAndFiles)('read, write and sendfile raise NotImplementedError where the proactor has no pipes or files', () => {
        const [a] = pair();
        expect(() => proactor.read(a, 10)).toThrow(NotImplementedError);
        expect(() => proactor.write(a, Buffer.from('x'))).toThrow(NotImplementedError);
        if (noSendfile !== false) expect(() => proactor.sendfile(a, a, 0, 10)).toThrow(NotImplementedError);
        expect(() => proactor.read(a, -1)).toThrow(RangeError);
        expect(proactor.pending).toBe(0);
      });

      itUnless(noPipes, 'write and read a pipe', () => {
        const [r, w] = pipe();
        expect(complete(proactor, proactor.write(w, Buffer.from('through the pipe'))).result).toBe(16);
        const read = complete(proactor, proactor.read(r, 100));
        expect((read.value as Buffer).toString()).toBe('through the pipe');
        sys.close(w);
        expect(complete(proactor, proactor.read(r, 100)).result).toBe(0);
      });

      itUnless(noFiles, 'read and write a file at a position', () => {
        const directory = mkdtempSync(join(tmpdir(), 'evloop-proactor-'));
        cleanups.push(() => rmSync(directory, { recursive: true, force: true }));
        const path = join(directory, 'data');
        writeFileSync(path, 'abcdefghij');
        const fd = openSync(path, 'r+');
        cleanups.push(() => closeSync(fd));
        expect((complete(proactor, proactor.read(fd, 3, 4)).value as Buffer).toString()).toBe('efg');
        expect(complete(proactor, proactor.write(fd, Buffer.from('XY'), 1)).result).toBe(2);
        expect((complete(proactor, proactor.read(fd, 10, 0)).value as Buffer).toString()).toBe('aXYdefghij');
      });

      itUnless(noSendfile, 'sendfile sends a file range to a socket', () => {
        const directory = mkdtempSync(join(tmpdir(), 'evloop-proactor-'));
        cleanups.push(() => rmSync(directory, { recursive: true, force: true }));
        const path = join(directory, 'data');
        const content = Buffer.alloc(100_000);
        for (let i = 0; i < content.length; i++) content[i] = (i * 7) % 256;
        writeFileSync(path, content);
        const fd = openSync(path, 'r');
        cleanups.push(() => closeSync(fd));
        const [a, b] = pair();
        let offset = 1000;
        const end = 91_000;
        const chunks: Buffer[] = [];
        let received = 0;
        let recvToken = proactor.recv(b, 65536);
        let sendToken = proactor.sendfile(a, fd, offset, end - offset);
        for (let round = 0; round < 2000 && received < end - 1000; round++) {
          const count = proactor.poll(0.05);
          for (let i = 0; i < count; i++) {
            const token = proactor.completions[i * COMPLETION_STRIDE]!;
            const result = proactor.completions[i * COMPLETION_STRIDE + 1]!;
            expect(result).toBeGreaterThan(0);
            if (token === sendToken) {
              offset += result;
              if (offset < end) sendToken = proactor.sendfile(a, fd, offset, end - offset);
            } else if (token === recvToken) {
              chunks.push(Buffer.from(proactor.completionValue(i) as Buffer));
              received += result;
              if (received < end - 1000) recvToken = proactor.recv(b, 65536);
            }
          }
        }
        expect(Buffer.concat(chunks).equals(content.subarray(1000, end))).toBe(true);
        const eof = complete(proactor, proactor.sendfile(a, fd, content.length, 10));
        expect(eof.result).toBe(0);
      });
    });

    describe('readiness (addReader/addWriter on a proactor loop)', () => {
      it.runIf(!features.readiness)('pollAdd raises NotImplementedError naming the backend where the proactor has no readiness polls', () => {
        const [a] = pair();
        expect(() => proactor.pollAdd(a, EVENT_READ)).toThrow(NotImplementedError);
        expect(() => proactor.pollAdd(a, EVENT_READ)).toThrow(new RegExp(options.name));
        expect(proactor.pending).toBe(0);
      });

      itUnless(noReadiness, 'pollAdd completes with the ready EVENT_* mask', () => {
        const [a, b] = pair();
        const writable = complete(proactor, proactor.pollAdd(a, EVENT_WRITE));
        expect(writable.result).toBe(EVENT_WRITE);
        const token = proactor.pollAdd(b, EVENT_READ);
        expect(proactor.poll(0)).toBe(0);
        a.send(Buffer.from('x'));
        expect(complete(proactor, token).result).toBe(EVENT_READ);
        const both = complete(proactor, proactor.pollAdd(b, EVENT_READ | EVENT_WRITE));
        expect(both.result).toBe(EVENT_READ | EVENT_WRITE);
      });

      itUnless(noReadiness, 'a hang-up wakes a reader', () => {
        const [a, b] = pair();
        const token = proactor.pollAdd(b, EVENT_READ);
        a.close();
        expect(complete(proactor, token).result).toBe(EVENT_READ);
      });
    });

    describe('cancellation of each operation kind in flight', () => {
      function expectCancelled(token: number): void {
        expect(proactor.pending).toBeGreaterThan(0);
        expect(proactor.cancel(token)).toBe(true);
        expect(proactor.cancel(token)).toBe(true);
        const completion = complete(proactor, token);
        expect(CANCELLED_CODES).toContain(codeOf(completion));
        expect(completion.value).toBeUndefined();
      }

      it('recv, recvInto and recvfrom', () => {
        const [, b] = pair();
        expectCancelled(proactor.recv(b, 10));
        expectCancelled(proactor.recvInto(b, Buffer.alloc(10)));
        const [, d] = pair(sys.SOCK_DGRAM);
        expectCancelled(proactor.recvfrom(d, 10));
        expectCancelled(proactor.recvfromInto(d, Buffer.alloc(10)));
        expect(proactor.pending).toBe(0);
      });

      it('send on a full socket', () => {
        const [a] = pair();
        const chunk = Buffer.alloc(64 * 1024);
        // Fill the socket buffer so the next send has to wait.
        for (;;) {
          try {
            a.send(chunk);
          } catch {
            break;
          }
        }
        expectCancelled(proactor.send(a, chunk));
      });

      it('accept', () => {
        const [server] = listener();
        expectCancelled(proactor.accept(server));
      });

      itUnless(windows && 'Windows refuses a connection its full backlog cannot take instead of dropping the SYN', 'connect to a listener whose backlog is full', () => {
        const server = own(new sys.Socket(sys.AF_INET, sys.SOCK_STREAM));
        server.bind(['127.0.0.1', 0]);
        server.listen(0);
        const address = server.getsockname() as [string, number];
        const tokens: number[] = [];
        for (let i = 0; i < 4; i++) {
          const client = own(new sys.Socket(sys.AF_INET, sys.SOCK_STREAM));
          client.setBlocking(false);
          tokens.push(proactor.connect(client, address));
        }
        // The accept queue takes one or two; the kernel drops the others'
        // SYNs (and their retries) while nobody accepts, so they stay in flight.
        const finished = new Set<number>();
        for (let round = 0; round < 5; round++) {
          const count = proactor.poll(0.02);
          for (let i = 0; i < count; i++) finished.add(proactor.completions[i * COMPLETION_STRIDE]!);
        }
        const inFlight = tokens.filter((token) => !finished.has(token));
        expect(inFlight.length).toBeGreaterThan(0);
        for (const token of inFlight) expectCancelled(token);
      });

      itUnless(noPipes, 'pipe read and write on a full pipe', () => {
        const [r, w] = pipe();
        expectCancelled(proactor.read(r, 10));
        const chunk = Buffer.alloc(65536);
        for (;;) {
          try {
            sys.write(w, chunk);
          } catch {
            break;
          }
        }
        // More than a pipe holds, so it stays in flight even where the
        // loop above cannot fill the pipe (Windows: sys.write is for sockets).
        expectCancelled(proactor.write(w, Buffer.alloc(1024 * 1024)));
      });

      itUnless(noReadiness, 'pollAdd', () => {
        const [, b] = pair();
        expectCancelled(proactor.pollAdd(b, EVENT_READ));
      });

      it('cancelFd cancels every operation on one fd and leaves the others', () => {
        const [a, b] = pair();
        const [c, d] = pair();
        const onB = [proactor.recv(b, 10), features.readiness ? proactor.pollAdd(b, EVENT_READ) : proactor.recvInto(b, Buffer.alloc(4)), proactor.recv(b, 10)];
        const onD = proactor.recv(d, 10);
        expect(proactor.cancelFd(b)).toBe(3);
        const done = collect(proactor, onB);
        for (const token of onB) expect(CANCELLED_CODES).toContain(codeOf(done.get(token)!));
        expect(proactor.pending).toBe(1);
        c.send(Buffer.from('still here'));
        expect((complete(proactor, onD).value as Buffer).toString()).toBe('still here');
        void a;
      });

      it('an operation that finished before its cancel completes with its result', () => {
        const [a, b] = pair();
        a.send(Buffer.from('first'));
        const token = proactor.recv(b, 10);
        // Submitted and done in the kernel; the cancel finds nothing to stop.
        let completion: Completion | undefined;
        const count = proactor.poll(0.5);
        for (let i = 0; i < count; i++) {
          if (proactor.completions[i * COMPLETION_STRIDE] === token) {
            completion = { token, result: proactor.completions[i * COMPLETION_STRIDE + 1]!, flags: 0, value: proactor.completionValue(i) };
          }
        }
        if (completion === undefined) {
          proactor.cancel(token);
          completion = complete(proactor, token);
        }
        expect(completion.result === 5 || CANCELLED_CODES.includes(codeOf(completion))).toBe(true);
        expect(proactor.pending).toBe(0);
      });
    });

    describe('buffers belong to the kernel until the completion', () => {
      it.runIf(gc() !== null)('a buffer nobody else references survives GC while its operation is in flight, and is released after', async () => {
        const collectGarbage = gc()!;
        const [a, b] = pair(sys.SOCK_DGRAM);
        const refs: Array<WeakRef<Uint8Array>> = [];
        const tokens: number[] = [];
        for (let i = 0; i < 50; i++) {
          const buffer = new Uint8Array(1024);
          refs.push(new WeakRef(buffer));
          tokens.push(proactor.recvInto(b, buffer));
        }
        proactor.poll(0);
        for (let i = 0; i < 3; i++) {
          await new Promise((resolve) => setImmediate(resolve));
          collectGarbage();
        }
        expect(refs.every((ref) => ref.deref() !== undefined)).toBe(true);
        for (let i = 0; i < 50; i++) a.send(Buffer.from(`message ${i}`));
        const done = collect(proactor, tokens);
        const texts = tokens.map((token, i) => Buffer.from(refs[i]!.deref()!.subarray(0, done.get(token)!.result)).toString());
        expect(new Set(texts)).toEqual(new Set(Array.from({ length: 50 }, (_, i) => `message ${i}`)));
        proactor.poll(0);
        for (let i = 0; i < 5; i++) {
          await new Promise((resolve) => setImmediate(resolve));
          collectGarbage();
        }
        // The check above could fail: once harvested, the proactor lets go.
        expect(refs.filter((ref) => ref.deref() !== undefined).length).toBeLessThan(50);
      });

      it.runIf(gc() !== null)('a cancelled operation keeps its buffer until the cancellation completes', async () => {
        const collectGarbage = gc()!;
        const [, b] = pair();
        let buffer: Uint8Array | null = new Uint8Array(4096);
        const ref = new WeakRef(buffer);
        const token = proactor.recvInto(b, buffer);
        buffer = null;
        proactor.poll(0);
        proactor.cancel(token);
        await new Promise((resolve) => setImmediate(resolve));
        collectGarbage();
        expect(ref.deref()).toBeDefined();
        expect(proactor.pending).toBe(1);
        complete(proactor, token);
        expect(proactor.pending).toBe(0);
      });

      it('the same caller buffer is never handed out twice: each recvInto gets its own bytes', () => {
        const [a, b] = pair(sys.SOCK_DGRAM);
        const buffers = Array.from({ length: 8 }, () => Buffer.alloc(8));
        const tokens = buffers.map((buffer) => proactor.recvInto(b, buffer));
        for (let i = 0; i < 8; i++) a.send(Buffer.from(`msg-${i}`));
        const done = collect(proactor, tokens);
        const seen = tokens.map((token, i) => buffers[i]!.subarray(0, done.get(token)!.result).toString()).sort();
        expect(seen).toEqual(Array.from({ length: 8 }, (_, i) => `msg-${i}`));
      });
    });

    describe('scale', () => {
      it(`${concurrent} concurrent operations each complete exactly once`, () => {
        const pairs = 50;
        const perPair = Math.ceil(concurrent / pairs);
        const sockets = Array.from({ length: pairs }, () => pair(sys.SOCK_DGRAM));
        const tokens: number[] = [];
        for (const [, b] of sockets) {
          for (let i = 0; i < perPair; i++) tokens.push(proactor.recv(b, 16));
        }
        expect(proactor.pending).toBe(pairs * perPair);
        proactor.poll(0);
        for (const [a] of sockets) {
          for (let i = 0; i < perPair; i++) {
            for (;;) {
              try {
                a.send(Buffer.from([i & 0xff]));
                break;
              } catch {
                // The receiver's queue is full: let the kernel hand datagrams to the waiting receives.
                proactor.poll(0);
              }
            }
          }
        }
        const done = collect(proactor, tokens, 2000);
        expect(done.size).toBe(tokens.length);
        for (const completion of done.values()) expect(completion.result).toBe(1);
        expect(proactor.pending).toBe(0);
      });

      it(`${concurrent} operations in flight are all cancelled, and close() with operations in flight returns`, () => {
        const sockets = Array.from({ length: 20 }, () => pair());
        const tokens: number[] = [];
        const wait = (sock: sys.Socket) => (features.readiness ? proactor.pollAdd(sock, EVENT_READ) : proactor.recv(sock, 1));
        for (let i = 0; i < concurrent; i++) tokens.push(wait(sockets[i % 20]![1]));
        proactor.poll(0);
        let cancelled = 0;
        for (const [, b] of sockets.slice(0, 10)) cancelled += proactor.cancelFd(b);
        expect(cancelled).toBe(concurrent / 2);
        const done = collect(proactor, tokens.filter((_, i) => i % 20 < 10), 2000);
        for (const completion of done.values()) expect(CANCELLED_CODES).toContain(codeOf(completion));
        expect(proactor.pending).toBe(concurrent / 2);
        proactor.close();
        expect(proactor.closed).toBe(true);
      });
    });

    describe('close() with operations in flight', () => {
      it('a connection accepted while the proactor closes is closed too (no fd leaks)', () => {
        const [server, address] = listener();
        proactor.accept(server);
        proactor.poll(0);
        const client = own(new sys.Socket(sys.AF_INET, sys.SOCK_STREAM));
        client.connect(address);
        const [, b] = pair();
        const buffer = Buffer.alloc(16);
        proactor.recvInto(b, buffer);
        proactor.close();
        expect(proactor.pending).toBe(0);
        expect(() => proactor.recv(b, 1)).toThrow(RuntimeError);
      });
    });

    describe('a socket closed underneath an operation', () => {
      itUnless(noCompletionOnClose, 'a recv in flight on a closed socket completes once cancelled; the proactor keeps working', () => {
        const [a, b] = pair();
        const token = proactor.recv(b, 10);
        proactor.poll(0);
        b.close();
        proactor.poll(0);
        expect(proactor.cancel(token) || proactor.pending === 0).toBe(true);
        const completion = complete(proactor, token);
        expect(completion.result === 0 || completion.result < 0).toBe(true);
        const [c, d] = pair();
        c.send(Buffer.from('alive'));
        expect((complete(proactor, proactor.recv(d, 10)).value as Buffer).toString()).toBe('alive');
        void a;
      });

      itUnless(noCompletionOnClose, 'a recv in flight completes with EOF when the socket is shut down', () => {
        const [, b] = pair();
        const token = proactor.recv(b, 10);
        proactor.poll(0);
        b.shutdown(sys.SHUT_RDWR);
        expect(complete(proactor, token).result).toBe(0);
      });

      it('a listening socket with an accept in flight, shut down, cancelled and closed, frees its port', () => {
        const [server, address] = listener();
        const token = proactor.accept(server);
        proactor.poll(0);
        // Winsock refuses to shut a listening socket down (ENOTCONN): cancelling is what ends its accept there.
        if (!windows) server.shutdown(sys.SHUT_RDWR);
        proactor.cancelFd(server);
        server.close();
        const completion = complete(proactor, token);
        expect(completion.result).toBeLessThan(0);
        const again = own(new sys.Socket(sys.AF_INET, sys.SOCK_STREAM));
        again.bind(address);
        again.listen(1);
      });

      it('a new operation on an fd number closed and reused reaches the new file', () => {
        const [a, b] = pair();
        const fd = b.fileno();
        b.close();
        const [c, d] = pair();
        const target = d.fileno() === fd ? d : c.fileno() === fd ? c : null;
        const peer = target === d ? c : d;
        if (target !== null) {
          const token = proactor.recv(fd, 10);
          peer.send(Buffer.from('reused'));
          expect((complete(proactor, token).value as Buffer).toString()).toBe('reused');
        }
        void a;
      });
    });

    describe('guest-loop wait', () => {
      it('watch() calls onReady from Node once a completion is ready; unwatch() stops it', async () => {
        const [a, b] = pair();
        const token = proactor.recv(b, 10);
        let calls = 0;
        const ready = new Promise<void>((resolve) => {
          proactor.watch(() => {
            calls++;
            resolve();
          });
        });
        // Submitted by the watch before Node blocks: no poll() here.
        setImmediate(() => a.send(Buffer.from('wake')));
        await ready;
        expect(calls).toBeGreaterThanOrEqual(1);
        expect((complete(proactor, token).value as Buffer).toString()).toBe('wake');
        proactor.unwatch();
      });

      it('an operation started while watched is submitted without a poll', async () => {
        const [a, b] = pair();
        a.send(Buffer.from('queued'));
        const ready = new Promise<void>((resolve) => proactor.watch(resolve));
        proactor.recv(b, 10);
        await ready;
        expect(proactor.poll(0)).toBe(1);
        expect((proactor.completionValue(0) as Buffer).toString()).toBe('queued');
        proactor.unwatch();
      });
    });
  });
}
