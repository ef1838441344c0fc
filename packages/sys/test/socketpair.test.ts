import { describe, expect, it } from 'vitest';
import { AF_UNIX, SOCK_DGRAM, SOCK_STREAM, socketpair } from '../src/index.js';
import { checkFdLeaks, describePosix } from './helpers.js';

checkFdLeaks();

describePosix('socketpair', 'AF_UNIX pairs', () => {
  it('is a blocking AF_UNIX stream pair by default and talks both ways', () => {
    const [a, b] = socketpair();
    try {
      expect(a.family).toBe(AF_UNIX);
      expect(a.type).toBe(SOCK_STREAM);
      expect(a.getBlocking()).toBe(true);
      expect(a.send(Buffer.from('ping'))).toBe(4);
      expect(b.recv(10).toString()).toBe('ping');
      b.sendall(new TextEncoder().encode('pong'));
      expect(a.recv(10).toString()).toBe('pong');
    } finally {
      a.close();
      b.close();
    }
  });

  it('can be non-blocking', () => {
    const [a, b] = socketpair(AF_UNIX, SOCK_STREAM, 0, { blocking: false });
    try {
      expect(a.getBlocking()).toBe(false);
      expect(() => b.recv(1)).toThrow(expect.objectContaining({ name: 'BlockingIOError', code: 'EAGAIN', syscall: 'recv' }));
      b.setBlocking(true);
      expect(b.getBlocking()).toBe(true);
    } finally {
      a.close();
      b.close();
    }
  });

  it('recvIntoAt fills the buffer from its offset to its end and leaves the rest alone', () => {
    const [a, b] = socketpair(AF_UNIX, SOCK_STREAM, 0, { blocking: false });
    try {
      const buffer = Buffer.alloc(8, '.');
      expect(() => b.recvIntoAt(buffer, 3)).toThrow(expect.objectContaining({ name: 'BlockingIOError', syscall: 'recv' }));
      a.send(Buffer.from('abcdefgh'));
      expect(b.recvIntoAt(buffer, 3)).toBe(5);
      expect(buffer.toString()).toBe('...abcde');
      expect(b.recvIntoAt(buffer, 8)).toBe(0);
      // Other views count bytes, as recvInto does: 3 bytes left from byte 1 of a 4-byte Uint16Array.
      const wide = new Uint16Array(2);
      expect(b.recvIntoAt(wide, 1)).toBe(3);
      expect(Buffer.from(wide.buffer).toString('latin1')).toBe('\0fgh');
    } finally {
      a.close();
      b.close();
    }
  });

  it('keeps datagram boundaries for SOCK_DGRAM', () => {
    const [a, b] = socketpair(AF_UNIX, SOCK_DGRAM);
    try {
      a.send(Buffer.from('one'));
      a.send(Buffer.from('two'));
      expect(b.recv(100).toString()).toBe('one');
      expect(b.recv(100).toString()).toBe('two');
    } finally {
      a.close();
      b.close();
    }
  });

  it('results of large receives are the caller\'s own bytes, not views of a shared buffer', () => {
    const [a, b] = socketpair();
    try {
      a.send(Buffer.from('first'));
      const first = b.recv(262144);
      a.send(Buffer.from('second'));
      const second = b.recv(262144);
      expect([first.toString(), second.toString()]).toEqual(['first', 'second']);
      // A full small receive is a view of its own buffer; a large one that filled up is returned whole.
      const payload = Buffer.alloc(20000, 3);
      a.sendall(payload);
      let got = Buffer.alloc(0);
      while (got.length < payload.length) got = Buffer.concat([got, b.recv(payload.length - got.length)]);
      expect(got.equals(payload)).toBe(true);
    } finally {
      a.close();
      b.close();
    }
  });
});
