import { constants as osConstants } from 'node:os';
import { ConnectionRefusedError, NotImplementedError } from '@evloop/interface';
import { describe, expect, it } from 'vitest';
import { AF_INET, AF_INET6, AF_UNIX, close, connectPipeServer, createPipeServer, handleType, openpty, pipe, recvFds, sendfile, SO_ERROR, SOCK_DGRAM, SOCK_STREAM, Socket, socketpair, SOL_SOCKET } from '../src/index.js';
import { onWindows } from './helpers.js';

// What @evloop/sys does differently on Windows (Winsock).
(onWindows ? describe : describe.skip)(onWindows ? 'Winsock' : 'Winsock (skipped: Windows only)', () => {
  it('socketpair() is an AF_INET stream pair over loopback, blocking by default, and talks both ways', () => {
    const [a, b] = socketpair();
    try {
      expect([a.family, a.type, b.family]).toEqual([AF_INET, SOCK_STREAM, AF_INET]);
      expect(a.getBlocking()).toBe(true);
      expect(a.getsockname()).toEqual(b.getpeername());
      expect(a.send(Buffer.from('ping'))).toBe(4);
      expect(Buffer.from(b.recv(16)).toString()).toBe('ping');
      b.sendall(Buffer.from('pong'));
      expect(Buffer.from(a.recv(16)).toString()).toBe('pong');
    } finally {
      a.close();
      b.close();
    }
  });

  it('socketpair(AF_INET6) works; SOCK_DGRAM is a RangeError', () => {
    const [a, b] = socketpair(AF_INET6, SOCK_STREAM, 0, { blocking: false });
    try {
      expect(a.getBlocking()).toBe(false);
      expect(() => a.recv(4)).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
    } finally {
      a.close();
      b.close();
    }
    expect(() => socketpair(AF_INET, SOCK_DGRAM)).toThrow(RangeError);
  });

  it('sendmsg without ancillary data gathers its buffers into one send', () => {
    const [a, b] = socketpair();
    try {
      expect(a.sendmsg([Buffer.from('ab'), Buffer.from('cd')])).toBe(4);
      expect(Buffer.from(b.recv(16)).toString()).toBe('abcd');
    } finally {
      a.close();
      b.close();
    }
  });

  it('pipe() is a named pipe: two overlapped HANDLEs that close with close(); blocking: true is a RangeError', () => {
    const [readEnd, writeEnd] = pipe();
    expect(readEnd).not.toBe(writeEnd);
    expect(handleType(readEnd)).toBe('pipe');
    expect(handleType(writeEnd)).toBe('pipe');
    close(writeEnd);
    close(readEnd);
    expect(() => close(readEnd)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'CloseHandle' }));
    expect(() => pipe({ blocking: true })).toThrow(RangeError);
  });

  it('createPipeServer(): a unique name per pipe; connectPipeServer() is ENOTCONN until a client opens it', () => {
    const first = createPipeServer('read');
    const second = createPipeServer('write');
    try {
      expect(first.name).toMatch(/^\\\\\.\\pipe\\evloop-\d+-\d+-[0-9a-f]{16}$/);
      expect(second.name).not.toBe(first.name);
      expect(() => connectPipeServer(first.handle)).toThrow(expect.objectContaining({ code: 'ENOTCONN' }));
      expect(() => createPipeServer('both' as never)).toThrow(RangeError);
      const duplex = createPipeServer('duplex');
      close(duplex.handle);
    } finally {
      close(first.handle);
      close(second.handle);
    }
  });

  it('PTYs, Unix sockets, fd passing and sendfile raise NotImplementedError', () => {
    expect(() => openpty()).toThrow(NotImplementedError);
    expect(() => sendfile(0, 0, 0, 0)).toThrow(NotImplementedError);
    expect(() => new Socket(AF_UNIX, SOCK_STREAM)).toThrow(NotImplementedError);
    expect(() => socketpair(AF_UNIX)).toThrow(NotImplementedError);
    const [a, b] = socketpair();
    try {
      expect(() => a.sendmsg([Buffer.from('x')], [[0, 1, Buffer.alloc(4)]])).toThrow(NotImplementedError);
      expect(() => recvFds(a, 1, 1)).toThrow(NotImplementedError);
    } finally {
      a.close();
      b.close();
    }
  });

  it('a refused connect is ConnectionRefusedError with the POSIX errno, blocking or through SO_ERROR', () => {
    const probe = new Socket(AF_INET, SOCK_STREAM);
    probe.bind(['127.0.0.1', 0]);
    const port = (probe.getsockname() as [string, number])[1];
    const client = new Socket(AF_INET, SOCK_STREAM);
    try {
      let caught: unknown;
      try {
        client.connect(['127.0.0.1', port]);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ConnectionRefusedError);
      expect(caught).toMatchObject({ code: 'ECONNREFUSED', errno: osConstants.errno.ECONNREFUSED, syscall: 'connect' });
      // Winsock may keep the error in SO_ERROR after reporting it: as an errno, like everything else.
      expect([0, osConstants.errno.ECONNREFUSED]).toContain(client.getsockopt(SOL_SOCKET, SO_ERROR));
    } finally {
      client.close();
      probe.close();
    }
  });

  it('an operation on a closed handle is an OSError naming the call, never a crash', () => {
    const socket = new Socket(AF_INET, SOCK_DGRAM);
    const fd = socket.fileno();
    socket.close();
    const again = new Socket({ fileno: fd, family: AF_INET, type: SOCK_DGRAM, proto: 0 });
    expect(() => again.getsockname()).toThrow(expect.objectContaining({ syscall: 'getsockname' }));
    again.detach();
  });
});
