import { constants as osConstants } from 'node:os';
import { OSError } from '@evloop/interface';
import { describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  close,
  fromfd,
  getBlocking,
  IPPROTO_TCP,
  pipe,
  recvFds,
  sendFds,
  SHUT_RDWR,
  SO_LINGER,
  SO_RCVBUF,
  SO_SNDBUF,
  SO_TYPE,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOL_SOCKET,
  Socket,
  socketpair,
  TCP_NODELAY,
} from '../src/index.js';
import { native } from '../src/load-native.js';
import { checkFdLeaks, itPosix } from './helpers.js';

checkFdLeaks();

const EBADF = osConstants.errno.EBADF;

describe('construction', () => {
  it('defaults to AF_INET/SOCK_STREAM, blocking, close-on-exec', () => {
    const sock = new Socket();
    try {
      expect([sock.family, sock.type, sock.proto]).toEqual([AF_INET, SOCK_STREAM, 0]);
      expect(sock.fileno()).toBeGreaterThan(2);
      expect(sock.getBlocking()).toBe(true);
      expect(sock.getInheritable()).toBe(false);
      expect(String(sock)).toMatch(/^<Socket fd=\d+ family=\d+ type=\d+ proto=0>$/);
    } finally {
      sock.close();
    }
  });

  it('wraps an existing fd with new Socket({ fileno }) and reads family/type from the kernel', () => {
    const original = new Socket(AF_INET, SOCK_DGRAM);
    const fd = original.detach();
    expect(original.fileno()).toBe(-1);
    const wrapped = new Socket({ fileno: fd });
    try {
      expect(wrapped.fileno()).toBe(fd);
      expect([wrapped.family, wrapped.type]).toEqual([AF_INET, SOCK_DGRAM]);
      expect(wrapped.getsockopt(SOL_SOCKET, SO_TYPE)).toBe(SOCK_DGRAM);
    } finally {
      wrapped.close();
    }
  });

  itPosix('fromfd duplicates, dup() too; both copies work on their own', 'dup() of an fd (WSADuplicateSocket copies differ; to look into for IOCP)', () => {
    const [a, b] = socketpair();
    const copy = fromfd(a.fileno());
    const copy2 = b.dup();
    try {
      expect(copy.fileno()).not.toBe(a.fileno());
      expect(copy.family).toBe(AF_UNIX);
      a.close();
      copy.send(Buffer.from('via copy'));
      expect(copy2.recv(20).toString()).toBe('via copy');
    } finally {
      copy.close();
      copy2.close();
      b.close();
    }
  });

  itPosix('a non-socket fd is ENOTSOCK and stays the caller\'s', 'pipes as fds', () => {
    const [r, w] = pipe();
    try {
      expect(() => new Socket({ fileno: r })).toThrow(expect.objectContaining({ code: 'ENOTSOCK' }));
      expect(getBlocking(r)).toBe(false); // still open
    } finally {
      close(r);
      close(w);
    }
  });

  it('an unknown family is an OSError from socket()', () => {
    expect(() => new Socket(12345, SOCK_STREAM)).toThrow(expect.objectContaining({ syscall: 'socket' }));
    expect(() => new Socket(12345, SOCK_STREAM)).toThrow(OSError);
  });
});

describe('options', () => {
  itPosix('int options round-trip; buffer options round-trip (SO_LINGER struct)', 'the POSIX struct linger of two ints (Winsock: two u_shorts)', () => {
    const sock = new Socket(AF_INET, SOCK_STREAM);
    try {
      sock.setsockopt(SOL_SOCKET, SO_RCVBUF, 65536);
      expect(sock.getsockopt(SOL_SOCKET, SO_RCVBUF)).toBeGreaterThanOrEqual(65536);
      expect(sock.getsockopt(SOL_SOCKET, SO_SNDBUF)).toBeGreaterThan(0);
      const linger = Buffer.from(new Int32Array([1, 7]).buffer);
      sock.setsockopt(SOL_SOCKET, SO_LINGER, linger);
      const back = sock.getsockopt(SOL_SOCKET, SO_LINGER, 8);
      expect(Buffer.isBuffer(back)).toBe(true);
      expect([...new Int32Array(Uint8Array.from(back).buffer)]).toEqual([1, 7]);
      // An int option read as bytes gives the C int's bytes.
      sock.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
      const raw = sock.getsockopt(IPPROTO_TCP, TCP_NODELAY, 16);
      expect(raw.length).toBe(4);
      expect(new Int32Array(Uint8Array.from(raw).buffer)[0]).not.toBe(0);
    } finally {
      sock.close();
    }
  });

  it('an unknown option is an OSError from setsockopt/getsockopt', () => {
    const sock = new Socket(AF_INET, SOCK_STREAM);
    try {
      expect(() => sock.setsockopt(SOL_SOCKET, 99999, 1)).toThrow(expect.objectContaining({ syscall: 'setsockopt' }));
      expect(() => sock.getsockopt(SOL_SOCKET, 99999)).toThrow(expect.objectContaining({ syscall: 'getsockopt' }));
    } finally {
      sock.close();
    }
  });
});

describe('close and detach', () => {
  it('close is idempotent; fileno is -1 afterwards', () => {
    const sock = new Socket(AF_INET, SOCK_STREAM);
    sock.close();
    sock.close();
    expect(sock.fileno()).toBe(-1);
    expect(sock.detach()).toBe(-1);
  });

  itPosix('every operation on a closed socket is an OSError with EBADF', 'sendmsg/recvmsg (NotImplementedError comes first)', () => {
    const sock = new Socket(AF_INET, SOCK_DGRAM);
    sock.close();
    const calls: Array<[string, () => unknown]> = [
      ['bind', () => sock.bind(['127.0.0.1', 0])],
      ['listen', () => sock.listen()],
      ['accept', () => sock.accept()],
      ['connect', () => sock.connect(['127.0.0.1', 9])],
      ['recv', () => sock.recv(1)],
      ['recv', () => sock.recvInto(Buffer.alloc(1))],
      ['recv', () => sock.recvIntoAt(Buffer.alloc(1), 0)],
      ['recvfrom', () => sock.recvfrom(1)],
      ['recvfrom', () => sock.recvfromInto(Buffer.alloc(1))],
      ['send', () => sock.send(Buffer.from('x'))],
      ['send', () => sock.sendall(Buffer.from('x'))],
      ['sendto', () => sock.sendto(Buffer.from('x'), ['127.0.0.1', 9])],
      ['sendmsg', () => sock.sendmsg([Buffer.from('x')])],
      ['recvmsg', () => sock.recvmsg(1)],
      ['shutdown', () => sock.shutdown(SHUT_RDWR)],
      ['fcntl', () => sock.setBlocking(false)],
      ['fcntl', () => sock.getBlocking()],
      ['setsockopt', () => sock.setsockopt(SOL_SOCKET, SO_RCVBUF, 1)],
      ['getsockopt', () => sock.getsockopt(SOL_SOCKET, SO_RCVBUF)],
      ['getsockname', () => sock.getsockname()],
      ['getpeername', () => sock.getpeername()],
      ['dup', () => sock.dup()],
    ];
    for (const [syscall, call] of calls) {
      let caught: unknown;
      try {
        call();
      } catch (error) {
        caught = error;
      }
      expect(OSError.isInstance(caught), syscall).toBe(true);
      expect(caught, syscall).toMatchObject({ errno: EBADF, code: 'EBADF', syscall });
    }
    expect(sock.connectEx(['127.0.0.1', 9])).toBe(EBADF);
  });

  it('detach hands the fd over without closing it', () => {
    const [a, b] = socketpair();
    const fd = a.detach();
    try {
      expect(a.fileno()).toBe(-1);
      expect(() => a.send(Buffer.from('x'))).toThrow(expect.objectContaining({ code: 'EBADF' }));
      b.send(Buffer.from('still open'));
      const again = new Socket({ fileno: fd });
      expect(again.recv(20).toString()).toBe('still open');
      again.close();
    } finally {
      b.close();
    }
  });

  itPosix('sending to a closed peer is BrokenPipeError or ConnectionResetError, never SIGPIPE', 'an AF_UNIX pair, which fails the first send', () => {
    const [a, b] = socketpair();
    try {
      b.close();
      expect(() => a.send(Buffer.from('x'))).toThrow(expect.objectContaining({ code: expect.stringMatching(/^(EPIPE|ECONNRESET)$/) }));
    } finally {
      a.close();
    }
  });
});

describe('bad arguments: TypeError/RangeError naming the argument, never a crash', () => {
  const inet = (): Socket => new Socket(AF_INET, SOCK_STREAM);

  it('constructor', () => {
    expect(() => new Socket('inet' as never)).toThrow(/family must be a number/);
    expect(() => new Socket(AF_INET, 1.5)).toThrow(/type must be an integer/);
    expect(() => new Socket({ fileno: -1 })).toThrow(RangeError);
    expect(() => new Socket({ fileno: -1 })).toThrow(/options\.fileno/);
    expect(() => new Socket({} as never)).toThrow(TypeError);
    expect(() => new Socket({ fileno: 2 ** 31 })).toThrow(RangeError);
  });

  itPosix('addresses', 'AF_UNIX addresses', () => {
    const sock = inet();
    try {
      expect(() => sock.bind('127.0.0.1' as never)).toThrow(/address must be a \[host, port\] array/);
      expect(() => sock.bind(['127.0.0.1'] as never)).toThrow(TypeError);
      expect(() => sock.bind(['127.0.0.1', 0, 0] as never)).toThrow(TypeError);
      expect(() => sock.bind([127001, 0] as never)).toThrow(/host must be a string/);
      expect(() => sock.bind(['127.0.0.1', '80'] as never)).toThrow(/port must be a number/);
      expect(() => sock.bind(['127.0.0.1', 65536])).toThrow(RangeError);
      expect(() => sock.bind(['127.0.0.1', -1])).toThrow(/port/);
      expect(() => sock.bind(['localhost', 0])).toThrow(/not a numeric IPv4 address.*getaddrinfo/);
      expect(() => sock.bind(['::1', 0])).toThrow(RangeError);
      expect(() => sock.bind(['1.2.3.4\0', 0])).toThrow(RangeError);
      expect(() => sock.connect(null as never)).toThrow(TypeError);
      expect(() => sock.sendto(Buffer.from('x'), undefined as never)).toThrow(TypeError);
    } finally {
      sock.close();
    }
    const six = new Socket(AF_INET6, SOCK_DGRAM);
    try {
      expect(() => six.bind(['::1', 0, 0, 0, 0] as never)).toThrow(TypeError);
      expect(() => six.bind(['::1', 0, 2 ** 20])).toThrow(/flowinfo/);
      expect(() => six.bind(['::1', 0, 0, -1])).toThrow(/scopeId/);
      expect(() => six.bind(['example.com', 0])).toThrow(/getaddrinfo/);
      expect(() => six.bind(['fe80::1%no-such-interface0', 0])).toThrow(/unknown interface/);
    } catch (error) {
      throw error;
    } finally {
      six.close();
    }
    const unix = new Socket(AF_UNIX, SOCK_STREAM);
    try {
      expect(() => unix.bind(['/tmp/x', 0] as never)).toThrow(/path string for AF_UNIX/);
      expect(() => unix.bind(42 as never)).toThrow(TypeError);
    } finally {
      unix.close();
    }
  });

  it('an address family the module cannot encode', () => {
    // A socket whose family has no address format here (wrapped with a made-up family).
    const [a, b] = socketpair();
    const odd = new Socket({ fileno: a.detach(), family: 12345 });
    try {
      expect(() => odd.bind(['x', 1] as never)).toThrow(/unsupported address family 12345/);
      expect(() => odd.bind(['x', 1] as never)).toThrow(RangeError);
    } finally {
      odd.close();
      b.close();
    }
  });

  itPosix('buffers, sizes, flags and options', 'AF_UNIX pairs', () => {
    const [a, b] = socketpair(AF_UNIX, SOCK_STREAM, 0, { blocking: false });
    try {
      expect(() => a.send('text' as never)).toThrow(/data must be a Uint8Array/);
      expect(() => a.send(null as never)).toThrow(TypeError);
      expect(() => a.sendall({ length: 3 } as never)).toThrow(TypeError);
      expect(() => a.recv(-1)).toThrow(/bufsize/);
      expect(() => a.recv('10' as never)).toThrow(TypeError);
      expect(() => a.recv(2 ** 31)).toThrow(RangeError);
      expect(() => a.recv(1, 1.5)).toThrow(/flags/);
      expect(() => a.recvInto(Buffer.alloc(2), 3)).toThrow(/nbytes \(3\) is larger than buffer/);
      expect(() => a.recvInto([] as never)).toThrow(/buffer must be/);
      expect(() => a.recvIntoAt([] as never, 0)).toThrow(/buffer must be/);
      expect(() => a.recvIntoAt(Buffer.alloc(2), 3)).toThrow(RangeError);
      expect(() => a.recvIntoAt(Buffer.alloc(2), -1)).toThrow(/offset must be an integer in \[0, 2\]/);
      expect(() => a.recvIntoAt(Buffer.alloc(2), '1' as never)).toThrow(TypeError);
      expect(() => a.setsockopt(SOL_SOCKET, SO_RCVBUF, 'big' as never)).toThrow(/value must be/);
      expect(() => a.setsockopt(SOL_SOCKET, SO_RCVBUF, 2 ** 40)).toThrow(RangeError);
      expect(() => a.getsockopt(SOL_SOCKET, SO_RCVBUF, 0)).toThrow(/buflen/);
      expect(() => a.getsockopt(SOL_SOCKET, SO_RCVBUF, 4096)).toThrow(/buflen/);
      expect(() => a.shutdown('both' as never)).toThrow(TypeError);
      expect(() => a.shutdown(99)).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'shutdown' }));
      expect(() => a.listen('x' as never)).toThrow(TypeError);
      expect(() => a.accept({ blocking: 1 as never })).toThrow(/options\.blocking/);
      expect(() => a.setBlocking('no' as never)).toThrow(/flag must be a boolean/);
      expect(() => a.sendmsg(42 as never)).toThrow(/buffers must be an iterable/);
      expect(() => a.sendmsg([Buffer.from('x')], [[1, 2]] as never)).toThrow(/ancdata\[0\]/);
      expect(() => a.sendmsg([Buffer.from('x')], [['a', 2, Buffer.alloc(0)]] as never)).toThrow(/level/);
      expect(() => a.recvmsg(1, -1)).toThrow(/ancbufsize/);
      expect(() => sendFds({} as never, Buffer.from('x'), [])).toThrow(/sock must be a Socket/);
      expect(() => sendFds(a, Buffer.from('x'), [-1])).toThrow(/fds\[0\]/);
      expect(() => sendFds(a, Buffer.from('x'), 3 as never)).toThrow(/fds must be/);
      expect(() => recvFds(a, 1, -1)).toThrow(/maxfds/);
      expect(() => socketpair(AF_UNIX, SOCK_STREAM, 0, { blocking: 'x' as never })).toThrow(TypeError);
    } finally {
      a.close();
      b.close();
    }
  });

  itPosix('the addon itself checks its arguments (a second line of defence)', 'AF_UNIX paths', () => {
    const buffer = Buffer.alloc(4);
    expect(() => native.read(-1, buffer, 0, 4)).toThrow(RangeError);
    expect(() => native.read('0' as never, buffer, 0, 4)).toThrow(TypeError);
    expect(() => native.read(0, {} as never, 0, 4)).toThrow(TypeError);
    expect(() => native.read(0, buffer, 2, 4)).toThrow(/length/);
    expect(() => native.read(0, buffer, 5, 0)).toThrow(/offset/);
    expect(() => native.write(1, buffer, 0, Number.NaN)).toThrow(RangeError);
    expect(() => native.recv(0, buffer, -1, 1, 0)).toThrow(RangeError);
    expect(() => native.bind(0, AF_UNIX, '/tmp/x', 0, 0, 0)).toThrow(/path must be/);
    expect(() => native.bind(0, AF_UNIX, Buffer.alloc(4096, 97), 0, 0, 0)).toThrow(/too long/);
    expect(() => native.bind(0, AF_INET, Buffer.alloc(1), 0, 0, 0)).toThrow(/host must be a string/);
    expect(() => native.bind(0, AF_INET, '1.2.3.4', 1e6, 0, 0)).toThrow(/port/);
    expect(() => native.bind(0, 4242, '1.2.3.4', 1, 0, 0)).toThrow(/family 4242/);
    expect(() => native.sendmsg(0, [Buffer.alloc(1)], [[1, 2]] as never, 0)).toThrow(TypeError);
    expect(() => native.sendmsg(0, 'x' as never, [], 0)).toThrow(TypeError);
    expect(() => native.recvmsg(0, buffer, 0, 4, 2 ** 30, 0)).toThrow(RangeError);
    expect(() => native.setBlocking(0, 1 as never)).toThrow(TypeError);
    expect(() => native.getsockoptBytes(0, 0, 0, buffer, 0, 5)).toThrow(RangeError);
    // Detached ArrayBuffer: a zero-length view, not a dangling pointer.
    const transferable = new ArrayBuffer(8);
    const view = new Uint8Array(transferable);
    structuredClone(transferable, { transfer: [transferable] });
    const [r, w] = pipe();
    try {
      expect(native.write(w, view, 0, 0)).toBe(0);
      expect(() => native.write(w, view, 0, 8)).toThrow(RangeError);
    } finally {
      close(r);
      close(w);
    }
  });
});
