import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BlockingIOError, OSError } from '@evloop/interface';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { AF_UNIX, pipe, close, read, sendfile, SO_SNDBUF, SOCK_STREAM, SOL_SOCKET, socketpair, type Socket } from '../src/index.js';
import { checkFdLeaks, describePosix } from './helpers.js';

checkFdLeaks();

describePosix('sendfile', 'sendfile(2)', () => {
  let dir: string;
  let file: string;
  const content = randomBytes(1 << 20);

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evloop-sys-sendfile-'));
    file = path.join(dir, 'data.bin');
    fs.writeFileSync(file, content);
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Everything readable on `sock` now (non-blocking). */
  const drain = (sock: Socket): Buffer => {
    const parts: Buffer[] = [];
    for (;;) {
      try {
        const part = sock.recv(1 << 20);
        if (part.length === 0) break;
        parts.push(part);
      } catch (error) {
        if (BlockingIOError.isInstance(error)) break;
        throw error;
      }
    }
    return Buffer.concat(parts);
  };

  it('sends a range from an offset, leaves the file position alone, and takes a FileHandle or a Socket', async () => {
    const [a, b] = socketpair(AF_UNIX, SOCK_STREAM, 0, { blocking: false });
    const fd = fs.openSync(file, 'r');
    const handle = await fs.promises.open(file, 'r');
    try {
      expect(sendfile(a.fileno(), fd, 1000, 5000)).toBe(5000);
      expect(drain(b).equals(content.subarray(1000, 6000))).toBe(true);
      // The fd's own position did not move: a plain read starts at 0.
      const head = Buffer.alloc(10);
      expect(fs.readSync(fd, head, 0, 10, null)).toBe(10);
      expect(head.equals(content.subarray(0, 10))).toBe(true);
      expect(sendfile(a, handle, 7, 3)).toBe(3);
      expect(drain(b).equals(content.subarray(7, 10))).toBe(true);
    } finally {
      fs.closeSync(fd);
      await handle.close();
      a.close();
      b.close();
    }
  });

  it('stops at the end of the file: a count past it is short, an offset at or past it sends 0, count 0 means to the end', () => {
    const [a, b] = socketpair(AF_UNIX, SOCK_STREAM, 0, { blocking: false });
    // A receive buffer large enough for what is sent below without reading.
    const fd = fs.openSync(file, 'r');
    try {
      const size = content.length;
      expect(sendfile(a, fd, size - 100, 1000)).toBe(100);
      expect(drain(b).equals(content.subarray(size - 100))).toBe(true);
      expect(sendfile(a, fd, size, 10)).toBe(0);
      expect(sendfile(a, fd, size + 12345, 10)).toBe(0);
      expect(sendfile(a, fd, size + 12345, 0)).toBe(0);
      expect(sendfile(a, fd, size - 50, 0)).toBe(50);
      expect(drain(b).equals(content.subarray(size - 50))).toBe(true);
      const emptyPath = path.join(dir, 'empty.bin');
      fs.writeFileSync(emptyPath, Buffer.alloc(0));
      const empty = fs.openSync(emptyPath, 'r');
      try {
        expect(sendfile(a, empty, 0, 0)).toBe(0);
      } finally {
        fs.closeSync(empty);
      }
    } finally {
      fs.closeSync(fd);
      a.close();
      b.close();
    }
  });

  it('on a full non-blocking socket: partial sends, then BlockingIOError (EAGAIN), and the rest once the peer reads', () => {
    const [a, b] = socketpair(AF_UNIX, SOCK_STREAM, 0, { blocking: false });
    const fd = fs.openSync(file, 'r');
    try {
      a.setsockopt(SOL_SOCKET, SO_SNDBUF, 8192);
      let offset = 0;
      let partial = 0;
      let wouldBlock = 0;
      const received: Buffer[] = [];
      for (let round = 0; offset < content.length && round < 100_000; round++) {
        let sent: number;
        try {
          sent = sendfile(a, fd, offset, 0);
        } catch (error) {
          expect(BlockingIOError.isInstance(error)).toBe(true);
          expect(error).toMatchObject({ code: 'EAGAIN', syscall: 'sendfile' });
          wouldBlock++;
          received.push(drain(b));
          continue;
        }
        expect(sent).toBeGreaterThan(0);
        if (offset + sent < content.length) partial++;
        offset += sent;
      }
      received.push(drain(b));
      expect(offset).toBe(content.length);
      // 1 MiB cannot go into an 8 KiB buffer at once.
      expect(partial).toBeGreaterThan(0);
      expect(wouldBlock).toBeGreaterThan(0);
      expect(Buffer.concat(received).equals(content)).toBe(true);
    } finally {
      fs.closeSync(fd);
      a.close();
      b.close();
    }
  });

  it('sends to a pipe too, and OS failures are OSErrors with code, errno and syscall', () => {
    const [r, w] = pipe();
    const [a, b] = socketpair(AF_UNIX, SOCK_STREAM, 0, { blocking: false });
    const fd = fs.openSync(file, 'r');
    try {
      if (process.platform === 'linux') {
        expect(sendfile(w, fd, 0, 100)).toBe(100);
        expect(read(r, 200).equals(content.subarray(0, 100))).toBe(true);
      }
      // An fd number that is not open.
      const unused = 1 << 20;
      for (const call of [() => sendfile(a, unused, 0, 10), () => sendfile(unused, fd, 0, 10)]) {
        let caught: unknown;
        try {
          call();
        } catch (error) {
          caught = error;
        }
        expect(OSError.isInstance(caught)).toBe(true);
        expect(caught).toMatchObject({ code: 'EBADF', errno: os.constants.errno.EBADF, syscall: 'sendfile' });
      }
      // A socket is not a file to read from.
      let caught: unknown;
      try {
        sendfile(a, b.fileno(), 0, 10);
      } catch (error) {
        caught = error;
      }
      expect(OSError.isInstance(caught)).toBe(true);
      expect((caught as OSError).syscall).toBe('sendfile');
    } finally {
      fs.closeSync(fd);
      close(r);
      close(w);
      a.close();
      b.close();
    }
  });

  it('argument errors are TypeError/RangeError naming the argument, before any syscall', async () => {
    const [a, b] = socketpair(AF_UNIX, SOCK_STREAM, 0, { blocking: false });
    const handle = await fs.promises.open(file, 'r');
    const fd = handle.fd;
    await handle.close();
    const cases: Array<[() => unknown, ErrorConstructor, RegExp]> = [
      [() => sendfile('3' as never, 0, 0, 0), TypeError, /^outFd must be a number/],
      [() => sendfile(-1, 0, 0, 0), RangeError, /^outFd must be an integer/],
      [() => sendfile({ fileno: () => -1 }, 0, 0, 0), RangeError, /^outFd must be an integer/],
      [() => sendfile(a, null as never, 0, 0), TypeError, /^inFd must be a number/],
      [() => sendfile(a, 1.5, 0, 0), RangeError, /^inFd must be an integer/],
      // A closed FileHandle's fd is -1.
      [() => sendfile(a, handle, 0, 0), RangeError, /^inFd must be an integer/],
      [() => sendfile(a, fd, -1, 0), RangeError, /^offset must be an integer/],
      [() => sendfile(a, fd, 2 ** 53, 0), RangeError, /^offset must be an integer/],
      [() => sendfile(a, fd, 0n as never, 0), TypeError, /^offset must be a number/],
      [() => sendfile(a, fd, 0, -1), RangeError, /^count must be an integer/],
      [() => sendfile(a, fd, 0, 0.5), RangeError, /^count must be an integer/],
      [() => sendfile(a, fd, 0, undefined as never), TypeError, /^count must be a number/],
    ];
    try {
      for (const [call, type, message] of cases) {
        expect(call).toThrow(type);
        expect(call).toThrow(message);
      }
      // Nothing was sent.
      expect(drain(b).length).toBe(0);
    } finally {
      a.close();
      b.close();
    }
  });
});
