import { constants as osConstants } from 'node:os';
import { EVENT_READ, EVENT_WRITE } from '@evloop/interface';
import * as sys from '@evloop/sys';
import { afterEach, describe, expect, it } from 'vitest';
import { backend, SelectSelector } from '../src/index.js';

// select() over Winsock: a counted fd_set of FD_SETSIZE (512) sockets.
const onWindows = process.platform === 'win32';

(onWindows ? describe : describe.skip)(onWindows ? 'select on Winsock' : 'select on Winsock (skipped: Windows only)', () => {
  const sockets: sys.Socket[] = [];
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });

  it('FD_SETSIZE is 512 and available() notes it', () => {
    expect(SelectSelector.FD_SETSIZE).toBe(512);
    const availability = backend.available();
    expect(availability.ok && availability.notes).toContain('FD_SETSIZE (512)');
  });

  it('takes 511 sockets (one slot is the wake socket); the next is refused with RangeError naming FD_SETSIZE, before any fd_set changes', () => {
    const selector = new SelectSelector();
    try {
      for (let i = 0; i < 256; i++) sockets.push(...sys.socketpair(sys.AF_INET, sys.SOCK_STREAM, 0, { blocking: false }));
      for (let i = 0; i < 511; i++) selector.register(sockets[i]!.fileno(), EVENT_WRITE);
      expect(() => selector.register(sockets[511]!.fileno(), EVENT_READ)).toThrow(RangeError);
      expect(() => selector.register(sockets[511]!.fileno(), EVENT_READ)).toThrow(/at most 511 sockets \(FD_SETSIZE is 512/);
      expect(selector.getMap().size).toBe(511);
      // Every registered socket is connected, hence writable; the refused one was never added.
      const ready = selector.select(0);
      expect(ready).toHaveLength(511);
      expect(ready.every(([key, events]) => events === EVENT_WRITE && key.fd !== sockets[511]!.fileno())).toBe(true);
      // Room again after an unregister.
      selector.unregister(sockets[0]!.fileno());
      selector.register(sockets[511]!.fileno(), EVENT_WRITE);
      expect(selector.getMap().size).toBe(511);
    } finally {
      selector.close();
    }
  });

  it('a non-socket handle is refused with an OSError (ENOTSOCK), not a crash', () => {
    const selector = new SelectSelector();
    try {
      // 0 is not a socket handle in a Node process (stdin is a file or console handle, or none).
      expect(() => selector.register(0, EVENT_READ)).toThrow(expect.objectContaining({ code: 'ENOTSOCK' }));
      expect(selector.getMap().size).toBe(0);
    } finally {
      selector.close();
    }
  });

  it('reports a socket readable once its peer wrote, and a refused connect as writable with SO_ERROR set', () => {
    const selector = new SelectSelector();
    try {
      const [left, right] = sys.socketpair(sys.AF_INET, sys.SOCK_STREAM, 0, { blocking: false });
      sockets.push(left, right);
      selector.register(left.fileno(), EVENT_READ);
      expect(selector.select(0)).toHaveLength(0);
      right.send(new Uint8Array([7]));
      const ready = selector.select(5);
      expect(ready.map(([key, events]) => [key.fd, events])).toEqual([[left.fileno(), EVENT_READ]]);
      selector.unregister(left.fileno());

      // A port nobody listens on: the refused connect shows up as writable (Winsock's except set).
      const listener = new sys.Socket(sys.AF_INET, sys.SOCK_STREAM);
      listener.bind(['127.0.0.1', 0]);
      const port = (listener.getsockname() as [string, number])[1];
      listener.close();
      const client = new sys.Socket(sys.AF_INET, sys.SOCK_STREAM);
      sockets.push(client);
      client.setBlocking(false);
      expect(() => client.connect(['127.0.0.1', port])).toThrow(expect.objectContaining({ code: 'EINPROGRESS' }));
      selector.register(client.fileno(), EVENT_WRITE);
      let events: Array<[number, number]> = [];
      // Bounded by count, not time: Wine reports the refusal within a few waits.
      for (let i = 0; i < 50 && events.length === 0; i++) {
        events = selector.select(0.1).map(([key, mask]) => [key.fd, mask]);
      }
      expect(events).toEqual([[client.fileno(), EVENT_WRITE]]);
      // SO_ERROR is the errno, as on POSIX (Winsock's WSAECONNREFUSED mapped).
      expect(client.getsockopt(sys.SOL_SOCKET, sys.SO_ERROR)).toBe(osConstants.errno.ECONNREFUSED);
    } finally {
      selector.close();
    }
  });
});
