import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  close,
  CMSG_LEN,
  CMSG_SPACE,
  getBlocking,
  MSG_CTRUNC,
  pipe,
  read,
  recvFds,
  SCM_RIGHTS,
  SO_BROADCAST,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOL_SOCKET,
  Socket,
  sendFds,
  socketpair,
  SUN_PATH_MAX,
  write,
} from '../src/index.js';
import { checkFdLeaks, describePosix } from './helpers.js';

checkFdLeaks();

const dir = mkdtempSync(join(tmpdir(), 'evloop-sys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const socketPath = (): string => join(dir, `s${counter++}`);

describe('UDP', () => {
  it('sendto / recvfrom over IPv4 loopback, with flags and the sender address', () => {
    const receiver = new Socket(AF_INET, SOCK_DGRAM);
    const sender = new Socket(AF_INET, SOCK_DGRAM);
    try {
      receiver.bind(['127.0.0.1', 0]);
      const address = receiver.getsockname() as [string, number];
      expect(sender.sendto(Buffer.from('datagram'), address)).toBe(8);
      expect(sender.sendto(Buffer.from('second'), 0, address)).toBe(6);
      const [data, from] = receiver.recvfrom(100);
      expect(data.toString()).toBe('datagram');
      expect(from).toEqual(['127.0.0.1', (sender.getsockname() as [string, number])[1]]);
      const target = Buffer.alloc(3);
      const [count, from2] = receiver.recvfromInto(target);
      // A datagram longer than the buffer is truncated to it.
      expect(count).toBe(3);
      expect(target.toString()).toBe('sec');
      expect(from2).toEqual(from);
    } finally {
      sender.close();
      receiver.close();
    }
  });

  it('connected UDP uses send/recv; recvfrom on nothing is BlockingIOError when non-blocking', () => {
    const a = new Socket(AF_INET, SOCK_DGRAM);
    const b = new Socket(AF_INET, SOCK_DGRAM);
    try {
      a.bind(['127.0.0.1', 0]);
      b.bind(['127.0.0.1', 0]);
      a.connect(b.getsockname() as [string, number]);
      a.send(Buffer.from('x'));
      expect(b.recv(10).toString()).toBe('x');
      b.setBlocking(false);
      expect(() => b.recvfrom(10)).toThrow(expect.objectContaining({ name: 'BlockingIOError', syscall: 'recvfrom' }));
      a.setsockopt(SOL_SOCKET, SO_BROADCAST, 1);
      expect(a.getsockopt(SOL_SOCKET, SO_BROADCAST)).toBe(1);
    } finally {
      a.close();
      b.close();
    }
  });

  it('IPv6 addresses come back as [host, port, flowinfo, scopeId]', () => {
    let sock: Socket;
    try {
      sock = new Socket(AF_INET6, SOCK_DGRAM);
    } catch {
      return; // no IPv6 in this environment
    }
    try {
      try {
        sock.bind(['::1', 0, 0]);
      } catch {
        return;
      }
      const [host, port, flowinfo, scopeId] = sock.getsockname() as [string, number, number, number];
      expect([host, flowinfo, scopeId]).toEqual(['::1', 0, 0]);
      sock.sendto(Buffer.from('six'), ['::1', port]);
      const [data, from] = sock.recvfrom(10);
      expect(data.toString()).toBe('six');
      expect(from).toEqual(['::1', port, 0, 0]);
    } finally {
      sock.close();
    }
  });
});

describePosix('Unix sockets', 'AF_UNIX', () => {
  it('stream: bind a path, listen, connect, accept, names', () => {
    const path = socketPath();
    const server = new Socket(AF_UNIX, SOCK_STREAM);
    const client = new Socket(AF_UNIX, SOCK_STREAM);
    let conn: Socket | undefined;
    try {
      expect(server.getsockname()).toBe('');
      server.bind(path);
      server.listen();
      expect(server.getsockname()).toBe(path);
      client.connect(path);
      const [accepted, peer] = server.accept();
      conn = accepted;
      expect(peer).toBe('');
      expect(client.getpeername()).toBe(path);
      client.sendall(Buffer.from('over unix'));
      expect(conn.recv(100).toString()).toBe('over unix');
      client.close();
      expect(conn.recv(100).length).toBe(0);
    } finally {
      conn?.close();
      client.close();
      server.close();
    }
  });

  it('datagram: sendto a bound path, recvfrom names the sender', () => {
    const serverPath = socketPath();
    const clientPath = socketPath();
    const server = new Socket(AF_UNIX, SOCK_DGRAM);
    const client = new Socket(AF_UNIX, SOCK_DGRAM);
    try {
      server.bind(serverPath);
      client.bind(clientPath);
      client.sendto(Buffer.from('d1'), serverPath);
      const [data, from] = server.recvfrom(16);
      expect(data.toString()).toBe('d1');
      expect(from).toBe(clientPath);
      server.sendto(Buffer.from('reply'), from!);
      expect(client.recv(16).toString()).toBe('reply');
    } finally {
      client.close();
      server.close();
    }
  });

  it('a path longer than sun_path is a RangeError naming the address; the longest one binds', () => {
    const sock = new Socket(AF_UNIX, SOCK_STREAM);
    try {
      expect(() => sock.bind('/' + 'a'.repeat(SUN_PATH_MAX))).toThrow(RangeError);
      expect(() => sock.bind('/' + 'a'.repeat(SUN_PATH_MAX))).toThrow(/address is too long/);
      expect(() => sock.bind('a\0b')).toThrow(/NUL/);
      const base = join(dir, 'x');
      const longest = base + 'y'.repeat(SUN_PATH_MAX - Buffer.byteLength(base));
      sock.bind(longest);
      expect(sock.getsockname()).toBe(longest);
    } finally {
      sock.close();
    }
  });

  it.skipIf(process.platform !== 'linux')('Linux abstract names (leading NUL), up to sizeof(sun_path) bytes', () => {
    const name = `\0evloop-sys-test-${process.pid}-${counter++}`;
    const server = new Socket(AF_UNIX, SOCK_STREAM);
    const client = new Socket(AF_UNIX, SOCK_STREAM);
    const longest = new Socket(AF_UNIX, SOCK_DGRAM);
    let conn: Socket | undefined;
    try {
      server.bind(name);
      server.listen();
      expect(server.getsockname()).toBe(name);
      client.connect(name);
      [conn] = server.accept();
      expect(client.getpeername()).toBe(name);
      const max = `\0${process.pid}`.padEnd(SUN_PATH_MAX + 1, 'z');
      longest.bind(max);
      expect(longest.getsockname()).toBe(max);
      expect(() => longest.bind(max + 'z')).toThrow(RangeError);
      // An empty name asks Linux to pick a fresh abstract one (autobind).
      const auto = new Socket(AF_UNIX, SOCK_DGRAM);
      try {
        auto.bind('');
        expect(auto.getsockname()).toMatch(/^\0[0-9a-f]{5}$/);
      } finally {
        auto.close();
      }
    } finally {
      conn?.close();
      client.close();
      server.close();
      longest.close();
    }
  });
});

describePosix('fd passing (SCM_RIGHTS)', 'SCM_RIGHTS', () => {
  it('passes a pipe fd; reading through the received fd gets what was written', () => {
    const [a, b] = socketpair();
    const [r, w] = pipe();
    let received: number[] = [];
    try {
      expect(sendFds(a, Buffer.from('fd!'), [r])).toBe(3);
      const [data, fds, flags] = recvFds(b, 16, 4);
      received = fds;
      expect(data.toString()).toBe('fd!');
      expect(fds).toHaveLength(1);
      expect(fds[0]).not.toBe(r);
      expect(flags & MSG_CTRUNC).toBe(0);
      write(w, Buffer.from('through the pipe'));
      expect(read(fds[0]!, 100).toString()).toBe('through the pipe');
      expect(getBlocking(fds[0]!)).toBe(false); // file status flags travel with the open file
    } finally {
      for (const fd of received) close(fd);
      close(r);
      close(w);
      a.close();
      b.close();
    }
  });

  it('passes several fds with sendmsg/recvmsg and ancdata items; too small a buffer sets MSG_CTRUNC', () => {
    const [a, b] = socketpair(AF_UNIX, SOCK_DGRAM);
    const [r, w] = pipe();
    const opened: number[] = [];
    try {
      const fds = new Int32Array([r, w, r]);
      expect(a.sendmsg([Buffer.from('x'), Buffer.from('yz')], [[SOL_SOCKET, SCM_RIGHTS, fds]])).toBe(3);
      const [data, ancdata, flags] = b.recvmsg(10, CMSG_SPACE(3 * 4));
      expect(data.toString()).toBe('xyz');
      expect(flags & MSG_CTRUNC).toBe(0);
      expect(ancdata).toHaveLength(1);
      const [level, type, bytes] = ancdata[0]!;
      expect([level, type, bytes.length]).toEqual([SOL_SOCKET, SCM_RIGHTS, 12]);
      opened.push(...new Int32Array(Uint8Array.from(bytes).buffer));
      expect(CMSG_LEN(12)).toBeLessThanOrEqual(CMSG_SPACE(12));

      // Two fds into room for one: the kernel closes the rest and says so.
      sendFds(a, Buffer.from('y'), [r, w]);
      const [, got, truncatedFlags] = recvFds(b, 10, 1);
      opened.push(...got);
      expect(got).toHaveLength(1);
      expect(truncatedFlags & MSG_CTRUNC).toBe(MSG_CTRUNC);

      // No fds at all is an ordinary message.
      sendFds(a, Buffer.from('z'), []);
      const [plain, none] = recvFds(b, 10, 2);
      expect([plain.toString(), none]).toEqual(['z', []]);
    } finally {
      for (const fd of opened) close(fd);
      close(r);
      close(w);
      a.close();
      b.close();
    }
  });

  it('two SCM_RIGHTS items in one message all arrive (the kernel may merge them)', () => {
    const [a, b] = socketpair(AF_UNIX, SOCK_DGRAM);
    const [r, w] = pipe();
    const opened: number[] = [];
    try {
      a.sendmsg([Buffer.from('two')], [
        [SOL_SOCKET, SCM_RIGHTS, new Int32Array([r])],
        [SOL_SOCKET, SCM_RIGHTS, new Int32Array([w])],
      ]);
      const [data, fds] = recvFds(b, 10, 4);
      opened.push(...fds);
      expect(data.toString()).toBe('two');
      expect(fds).toHaveLength(2);
      write(fds[1]!, Buffer.from('!'));
      expect(read(fds[0]!, 1).toString()).toBe('!');
    } finally {
      for (const fd of opened) close(fd);
      close(r);
      close(w);
      a.close();
      b.close();
    }
  });

  it('fds sent to a receiver with no ancillary room are dropped by the kernel with MSG_CTRUNC', () => {
    const [a, b] = socketpair(AF_UNIX, SOCK_DGRAM);
    const [r, w] = pipe();
    try {
      sendFds(a, Buffer.from('lost'), [r, w]);
      const [data, ancdata, flags] = b.recvmsg(10);
      expect(data.toString()).toBe('lost');
      expect(ancdata).toEqual([]);
      expect(flags & MSG_CTRUNC).toBe(MSG_CTRUNC);
    } finally {
      close(r);
      close(w);
      a.close();
      b.close();
    }
  });

  it('recvmsg at EOF gives empty data and no ancillary data', () => {
    const [a, b] = socketpair();
    try {
      a.close();
      const [data, ancdata, , address] = b.recvmsg(10, CMSG_SPACE(4));
      expect(data.length).toBe(0);
      expect(ancdata).toEqual([]);
      expect(address === null || address === '').toBe(true);
    } finally {
      b.close();
    }
  });

  it('sendmsg with an address sends a datagram to it', () => {
    const path = socketPath();
    const server = new Socket(AF_UNIX, SOCK_DGRAM);
    const client = new Socket(AF_UNIX, SOCK_DGRAM);
    try {
      server.bind(path);
      expect(client.sendmsg([Buffer.from('to '), Buffer.from('path')], [], 0, path)).toBe(7);
      expect(server.recv(16).toString()).toBe('to path');
    } finally {
      client.close();
      server.close();
    }
  });
});
