// sendfile on IOCP: TransmitFile of a node:fs fd's file to a socket.
import { COMPLETION_STRIDE, completionError } from '@evloop/interface';
import * as sys from '@evloop/sys';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backend, IocpProactor } from '../src/index.js';

const availability = backend.available();

describe.runIf(availability.ok)('sendfile (TransmitFile)', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        cleanup();
      } catch {
        // gone already
      }
    }
  });

  function setup(size: number): { proactor: IocpProactor; fd: number; content: Buffer; a: sys.Socket; b: sys.Socket } {
    const directory = mkdtempSync(join(tmpdir(), 'evloop-transmit-'));
    cleanups.push(() => rmSync(directory, { recursive: true, force: true }));
    const content = Buffer.alloc(size);
    for (let i = 0; i < size; i++) content[i] = (i * 13) % 251;
    writeFileSync(join(directory, 'data'), content);
    const fd = openSync(join(directory, 'data'), 'r');
    cleanups.push(() => closeSync(fd));
    const proactor = new IocpProactor();
    cleanups.push(() => proactor.close());
    const [a, b] = sys.socketpair(sys.AF_INET, sys.SOCK_STREAM, 0, { blocking: false });
    cleanups.push(() => a.close(), () => b.close());
    return { proactor, fd, content, a, b };
  }

  /** Poll (bounded) until `token` completes; its result. */
  function result(proactor: IocpProactor, token: number): number {
    for (let round = 0; round < 200; round++) {
      const count = proactor.poll(0.05);
      for (let i = 0; i < count; i++) {
        if (proactor.completions[i * COMPLETION_STRIDE] === token) return proactor.completions[i * COMPLETION_STRIDE + 1]!;
      }
    }
    throw new Error('sendfile never completed');
  }

  /** Receive exactly `n` bytes from a non-blocking socket (bounded). */
  async function receive(sock: sys.Socket, n: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let got = 0;
    for (let round = 0; round < 2000 && got < n; round++) {
      try {
        const chunk = sock.recv(n - got);
        chunks.push(chunk);
        got += chunk.length;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    return Buffer.concat(chunks);
  }

  it('says it has sendfile', () => {
    expect(new IocpProactor().features.sendfile).toBe(true);
  });

  it('sends the range [offset, offset + count) of the file, and says how much it sent', async () => {
    const { proactor, fd, content, a, b } = setup(20_000);
    const sent = result(proactor, proactor.sendfile(a, fd, 1234, 5000));
    expect(sent).toBe(5000);
    expect((await receive(b, 5000)).equals(content.subarray(1234, 6234))).toBe(true);
  });

  it('stops at the end of the file; at or past it sends nothing; a count of 0 sends nothing', async () => {
    const { proactor, fd, content, a, b } = setup(3000);
    expect(result(proactor, proactor.sendfile(a, fd, 2000, 5000))).toBe(1000);
    expect((await receive(b, 1000)).equals(content.subarray(2000))).toBe(true);
    expect(result(proactor, proactor.sendfile(a, fd, 3000, 10))).toBe(0);
    expect(result(proactor, proactor.sendfile(a, fd, 0, 0))).toBe(0);
  });

  it('a file fd that is not open is EBADF at once; bad arguments are RangeError/TypeError', () => {
    const { proactor, a } = setup(10);
    expect(() => proactor.sendfile(a, 100_000, 0, 10)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(() => proactor.sendfile(a, 3, -1, 10)).toThrow(RangeError);
    expect(() => proactor.sendfile(a, 3, 0, -1)).toThrow(RangeError);
    expect(() => proactor.sendfile(a, 3, 0, '1' as never)).toThrow(TypeError);
    expect(proactor.pending).toBe(0);
  });

  it('a socket that is not connected fails the completion with an OSError code', () => {
    const { proactor, fd } = setup(10);
    const lone = new sys.Socket(sys.AF_INET, sys.SOCK_STREAM);
    cleanups.push(() => lone.close());
    const value = result(proactor, proactor.sendfile(lone, fd, 0, 10));
    expect(value).toBeLessThan(0);
    expect(completionError(value, 'TransmitFile').code).toMatch(/^E[A-Z]+$/);
  });
});
