// Scenarios taken from CPython's Lib/test/test_socket.py (the ideas, not the code):
// truncated control buffers, partial fd arrays, SOCK_NONBLOCK in the type,
// chunked receives and sendto argument errors.
import { OSError } from '@evloop/interface';
import { describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_UNIX,
  close,
  CMSG_LEN,
  MSG_CTRUNC,
  pipe,
  recvFds,
  SCM_RIGHTS,
  sendFds,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  Socket,
  socketpair,
} from '../src/index.js';
import { checkFdLeaks, describePosix, itPosix, onWindows } from './helpers.js';

checkFdLeaks();

function withFdPair(body: (a: Socket, b: Socket, r: number, w: number) => void): void {
  const [a, b] = socketpair(AF_UNIX, SOCK_DGRAM);
  const [r, w] = pipe();
  try {
    body(a, b, r, w);
  } finally {
    close(r);
    close(w);
    a.close();
    b.close();
  }
}

function fdsOf(ancdata: Array<[number, number, Buffer]>): number[] {
  const fds: number[] = [];
  for (const [level, type, data] of ancdata) {
    if (level !== SOL_SOCKET || type !== SCM_RIGHTS) continue;
    const whole = Uint8Array.from(data.subarray(0, data.length & ~3));
    fds.push(...new Int32Array(whole.buffer));
  }
  return fds;
}

describePosix('control buffer truncation (testCmsgTrunc*)', 'SCM_RIGHTS', () => {
  for (const [label, size] of [
    ['two ints', 8],
    // (collected, then skipped, on Windows, where CMSG_LEN raises NotImplementedError)
    ['CMSG_LEN(0) - 1', onWindows ? 0 : CMSG_LEN(0) - 1],
  ] as const) {
    it(`an ancillary buffer of ${label} gets no items and MSG_CTRUNC`, () => {
      withFdPair((a, b, r) => {
        sendFds(a, Buffer.from('msg'), [r]);
        const [data, ancdata, flags] = b.recvmsg(10, size);
        for (const fd of fdsOf(ancdata)) close(fd);
        expect(data.toString()).toBe('msg');
        expect(ancdata).toEqual([]);
        expect(flags & MSG_CTRUNC).toBe(MSG_CTRUNC);
      });
    });
  }

  it('a buffer that ends inside the fd array yields the whole fds that fit (checkTruncatedArray)', () => {
    withFdPair((a, b, r, w) => {
      sendFds(a, Buffer.from('msg'), [r, w]);
      const [, ancdata, flags] = b.recvmsg(10, CMSG_LEN(4) + 2);
      const fds = fdsOf(ancdata);
      for (const fd of fds) close(fd);
      expect(fds.length).toBeLessThanOrEqual(1);
      expect(flags & MSG_CTRUNC).toBe(MSG_CTRUNC);
    });
  });

  it('sending a partial int as SCM_RIGHTS is refused or delivers no fd (testFDPassPartialInt)', () => {
    withFdPair((a, b, r) => {
      const partial = new Uint8Array(new Int32Array([r]).buffer).subarray(0, 3);
      let sent = true;
      try {
        a.sendmsg([Buffer.from('msg')], [[SOL_SOCKET, SCM_RIGHTS, partial]]);
      } catch (error) {
        expect(OSError.isInstance(error)).toBe(true);
        sent = false;
      }
      if (sent) {
        const [data, fds] = recvFds(b, 10, 4);
        for (const fd of fds) close(fd);
        expect(data.toString()).toBe('msg');
        expect(fds).toEqual([]);
      }
    });
  });
});

describe('Socket behaviour', () => {
  it.skipIf(SOCK_NONBLOCK === undefined)('SOCK_NONBLOCK in the type makes a non-blocking socket, and type drops the flag (testInitNonBlocking)', () => {
    const sock = new Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK!);
    try {
      expect(sock.getBlocking()).toBe(false);
      expect(sock.type).toBe(SOCK_STREAM);
    } finally {
      sock.close();
    }
  });

  it('receives a message in chunks (testOverFlowRecv, testOverFlowRecvFrom)', () => {
    const [a, b] = socketpair();
    try {
      const message = Buffer.from('Michael Gilfix was here\u1234\r\n');
      a.sendall(message);
      const first = b.recv(message.length - 3);
      const second = b.recv(1024);
      expect(Buffer.concat([first, second])).toEqual(message);
      a.sendall(message);
      const [head] = b.recvfrom(message.length - 3);
      const [tail] = b.recvfrom(1024);
      expect(Buffer.concat([head, tail])).toEqual(message);
    } finally {
      a.close();
      b.close();
    }
  });

  it('sendto does not mask argument errors (testSendtoErrors)', () => {
    const sock = new Socket(AF_INET, SOCK_DGRAM);
    try {
      sock.bind(['', 0]);
      const name = sock.getsockname() as [string, number];
      expect(name[0]).toBe('0.0.0.0');
      expect(() => sock.sendto('\u2620' as never, name)).toThrow(/data must be a Uint8Array.*not string/);
      expect(() => sock.sendto(5 as never, name)).toThrow(TypeError);
      expect(() => sock.sendto(Buffer.from('foo'), null as never)).toThrow(/not null/);
      expect(() => sock.sendto('\u2620' as never, 0, name)).toThrow(TypeError);
      expect(() => sock.sendto(Buffer.from('foo'), 'bar' as never, name)).toThrow(/flags must be a number/);
      expect(() => sock.sendto(Buffer.from('foo'), 0, null as never)).toThrow(TypeError);
    } finally {
      sock.close();
    }
  });

  itPosix('sendall pushes a large buffer through a blocking pair while the peer drains it', 'a socket fd that fs.readSync can read (a SOCKET is no CRT fd)', async () => {
    const [a, b] = socketpair();
    const { Worker } = await import('node:worker_threads');
    const reader = b.detach();
    const size = 4 * 1024 * 1024;
    // A worker drains the other end so sendall's loop has to run many times.
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const fs = require('node:fs');
       const buffer = Buffer.alloc(65536);
       let total = 0;
       for (;;) { const n = fs.readSync(workerData.fd, buffer); if (n === 0) break; total += n; }
       fs.closeSync(workerData.fd);
       parentPort.postMessage(total);`,
      { eval: true, workerData: { fd: reader } },
    );
    try {
      const total = new Promise<number>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      a.sendall(Buffer.alloc(size, 7));
      a.close();
      expect(await total).toBe(size);
    } finally {
      a.close();
      await worker.terminate();
    }
  });
});
