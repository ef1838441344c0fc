import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMPLETION_STRIDE, NotImplementedError } from '@evloop/interface';
import * as sys from '@evloop/sys';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backend, UringProactor } from '../src/index.js';

const ECANCELED = 125;
const EBADF = 9;
/** Bigger than a socket buffer, so sends go partial and wait for room. */
const SIZE = 4 * 1024 * 1024;

/**
 * The proactor's sendfile: a sendfile(2) at once on the non-blocking socket,
 * a POLLOUT poll and another sendfile(2) when the socket is full. What the
 * network conformance suite checks through the loop, checked here on the
 * proactor itself, with the cases that need its internals' timing (a poll
 * still waiting).
 */
describe.runIf(backend.available().ok)('UringProactor.sendfile (sendfile(2) and POLLOUT polls)', () => {
  let proactor: UringProactor;
  let directory: string;
  let content: Buffer;
  let fd: number;
  const cleanups: Array<() => void> = [];

  beforeEach(() => {
    proactor = new UringProactor();
    directory = mkdtempSync(join(tmpdir(), 'evloop-uring-sendfile-'));
    content = Buffer.alloc(SIZE);
    for (let i = 0; i < SIZE; i += 4) content.writeUInt32LE(i, i);
    writeFileSync(join(directory, 'data'), content);
    fd = openSync(join(directory, 'data'), 'r');
  });

  afterEach(() => {
    proactor.close();
    for (const cleanup of cleanups.splice(0)) cleanup();
    try {
      closeSync(fd);
    } catch {
      // closed by the test
    }
    rmSync(directory, { recursive: true, force: true });
  });

  function pair(blocking = false): [sys.Socket, sys.Socket] {
    const [a, b] = sys.socketpair(sys.AF_UNIX, sys.SOCK_STREAM, 0, { blocking });
    cleanups.push(() => a.close(), () => b.close());
    return [a, b];
  }

  /** Poll (bounded) until `token` completes; returns its result. */
  function resultOf(token: number, rounds = 200): number {
    for (let round = 0; round < rounds; round++) {
      const count = proactor.poll(0.05);
      for (let i = 0; i < count; i++) {
        if (proactor.completions[i * COMPLETION_STRIDE] === token) return proactor.completions[i * COMPLETION_STRIDE + 1]!;
      }
    }
    throw new Error(`operation ${token} did not complete`);
  }

  /** Whether `token` completes in one poll that does not wait. */
  function completesNow(token: number): boolean {
    const count = proactor.poll(0);
    for (let i = 0; i < count; i++) if (proactor.completions[i * COMPLETION_STRIDE] === token) return true;
    return false;
  }

  /** Read everything the peer has (blocking reads of what is there, non-blocking peer). */
  function drain(sock: sys.Socket, into: Buffer[] | null = null): number {
    let total = 0;
    for (;;) {
      let chunk: Buffer;
      try {
        chunk = sock.recv(1 << 20) as Buffer;
      } catch (error) {
        if ((error as { code?: string }).code === 'EAGAIN' || (error as { code?: string }).code === 'EWOULDBLOCK') return total;
        throw error;
      }
      if (chunk.length === 0) return total;
      into?.push(Buffer.from(chunk));
      total += chunk.length;
    }
  }

  /** Send `[offset, end)` with one sendfile after another, the peer reading between polls; returns what arrived and how many steps went short. */
  function sendRange(a: sys.Socket, b: sys.Socket, offset: number, end: number): { received: Buffer; short: number } {
    const chunks: Buffer[] = [];
    let short = 0;
    for (let steps = 0; offset < end && steps < 10_000; steps++) {
      const token = proactor.sendfile(a, fd, offset, end - offset);
      let result: number | undefined;
      for (let round = 0; round < 200 && result === undefined; round++) {
        const count = proactor.poll(0.01);
        for (let i = 0; i < count; i++) if (proactor.completions[i * COMPLETION_STRIDE] === token) result = proactor.completions[i * COMPLETION_STRIDE + 1]!;
        drain(b, chunks);
      }
      expect(result).toBeGreaterThan(0);
      if (result! < end - offset) short++;
      offset += result!;
    }
    drain(b, chunks);
    return { received: Buffer.concat(chunks), short };
  }

  it('sends a whole file bigger than the socket buffer, in short steps across a full socket, and leaves the file position alone', () => {
    const [a, b] = pair();
    const { received, short } = sendRange(a, b, 0, SIZE);
    expect(received.equals(content)).toBe(true);
    expect(short).toBeGreaterThan(0);
    // pread-like: the file's own position is still 0.
    const head = Buffer.alloc(8);
    expect(readSync(fd, head, 0, 8, null)).toBe(8);
    expect(head.equals(content.subarray(0, 8))).toBe(true);
    expect(proactor.pending).toBe(0);
  });

  it('sends offset + count, stops at EOF for a count past the end, and completes with 0 at EOF', () => {
    const [a, b] = pair();
    expect(sendRange(a, b, 1000, 41_000).received.equals(content.subarray(1000, 41_000))).toBe(true);
    const tail = proactor.sendfile(a, fd, SIZE - 10, 1_000_000);
    expect(resultOf(tail)).toBe(10);
    const chunks: Buffer[] = [];
    drain(b, chunks);
    expect(Buffer.concat(chunks).equals(content.subarray(SIZE - 10))).toBe(true);
    expect(resultOf(proactor.sendfile(a, fd, SIZE, 10))).toBe(0);
    expect(resultOf(proactor.sendfile(a, fd, SIZE + 5000, 10))).toBe(0);
  });

  /** Fill the socket (the peer not reading), then start a sendfile that has to wait. */
  function waitingSendfile(a: sys.Socket): number {
    const first = resultOf(proactor.sendfile(a, fd, 0, SIZE));
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(SIZE);
    const token = proactor.sendfile(a, fd, first, SIZE - first);
    // A step done at once completes in the next poll: this one waits for room.
    expect(completesNow(token)).toBe(false);
    return token;
  }

  it('a sendfile on a full socket waits for room, then completes with the bytes sent', () => {
    const [a, b] = pair();
    const token = waitingSendfile(a);
    expect(proactor.pending).toBe(1);
    drain(b);
    const result = resultOf(token);
    expect(result).toBeGreaterThan(0);
    expect(proactor.pending).toBe(0);
  });

  it('cancel() of a waiting sendfile completes it with ECANCELED, leaves nothing in flight and both fds open', () => {
    const [a, b] = pair();
    const token = waitingSendfile(a);
    expect(proactor.cancel(token)).toBe(true);
    expect(resultOf(token)).toBe(-ECANCELED);
    expect(proactor.pending).toBe(0);
    // Room now: the cancelled operation sends nothing more.
    const before = drain(b);
    expect(before).toBeGreaterThan(0);
    proactor.poll(0.02);
    expect(drain(b)).toBe(0);
    expect(() => fstatSync(fd)).not.toThrow();
    expect(a.fileno()).toBeGreaterThanOrEqual(0);
    expect(() => a.getsockopt(sys.SOL_SOCKET, sys.SO_TYPE)).not.toThrow();
  });

  it('cancelFd() of the file or of the socket cancels a waiting sendfile', () => {
    const [a] = pair();
    const byFile = waitingSendfile(a);
    expect(proactor.cancelFd(fd)).toBe(1);
    expect(resultOf(byFile)).toBe(-ECANCELED);
    const bySocket = proactor.sendfile(a, fd, 0, SIZE);
    expect(completesNow(bySocket)).toBe(false);
    expect(proactor.cancelFd(a)).toBe(1);
    expect(resultOf(bySocket)).toBe(-ECANCELED);
    expect(proactor.pending).toBe(0);
  });

  it('the socket closed (and its fd number reused) under a waiting sendfile: EBADF, nothing sent to the new file', () => {
    const [a, b] = pair();
    const token = waitingSendfile(a);
    const number = a.fileno();
    a.close();
    // The lowest free number: very likely the socket's old one.
    const reused = openSync(join(directory, 'other'), 'w+');
    cleanups.push(() => closeSync(reused));
    // Room in the (still referenced) socket wakes the poll.
    drain(b);
    expect(resultOf(token)).toBe(-EBADF);
    expect(proactor.pending).toBe(0);
    if (reused === number) expect(readFileSync(join(directory, 'other')).length).toBe(0);
  });

  it('a file sendfile(2) cannot read (a pipe) raises NotImplementedError and starts nothing', () => {
    const [a] = pair();
    const [r, w] = sys.pipe();
    cleanups.push(() => sys.close(r), () => sys.close(w));
    sys.write(w, Buffer.from('data'));
    expect(() => proactor.sendfile(a, r, 0, 4)).toThrow(NotImplementedError);
    expect(proactor.pending).toBe(0);
  });

  it('a blocking socket is sent to through the ring (a read and a send), never with a sendfile(2) that would block', () => {
    const [a, b] = pair(true);
    b.setBlocking(false);
    const { received } = sendRange(a, b, 0, 300_000);
    expect(received.equals(content.subarray(0, 300_000))).toBe(true);
  });

  it('errors of sendfile(2) are the completion: a socket whose peer is gone gives EPIPE', () => {
    const [a, b] = pair();
    b.close();
    expect(resultOf(proactor.sendfile(a, fd, 0, 100))).toBe(-32);
  });
});
