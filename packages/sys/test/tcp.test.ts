import { constants as osConstants } from 'node:os';
import { BlockingIOError, ConnectionRefusedError, OSError } from '@evloop/interface';
import { describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  IPPROTO_IPV6,
  IPPROTO_TCP,
  IPV6_V6ONLY,
  MSG_PEEK,
  SHUT_WR,
  SO_ERROR,
  SO_REUSEADDR,
  SOCK_STREAM,
  SOL_SOCKET,
  Socket,
  TCP_NODELAY,
} from '../src/index.js';
import { checkFdLeaks } from './helpers.js';

checkFdLeaks();

function ipv6Available(): boolean {
  try {
    const probe = new Socket(AF_INET6, SOCK_STREAM);
    try {
      probe.bind(['::1', 0]);
      return true;
    } finally {
      probe.close();
    }
  } catch {
    return false;
  }
}

const families: Array<[string, number, string, boolean]> = [
  ['IPv4', AF_INET, '127.0.0.1', true],
  ['IPv6', AF_INET6, '::1', ipv6Available()],
];

for (const [label, family, host, available] of families) {
  describe.skipIf(!available)(`TCP over ${label} loopback${available ? '' : ' (skipped: no IPv6 loopback here)'}`, () => {
    it('binds port 0, listens, connects non-blocking, accepts, talks, shuts down', () => {
      const server = new Socket(family, SOCK_STREAM);
      const client = new Socket(family, SOCK_STREAM);
      let conn: Socket | undefined;
      try {
        expect(server.family).toBe(family);
        expect(server.type).toBe(SOCK_STREAM);
        server.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
        server.bind([host, 0]);
        server.listen();
        const local = server.getsockname() as [string, number];
        expect(local[0]).toBe(host);
        expect(local[1]).toBeGreaterThan(0);
        if (family === AF_INET6) expect(local).toHaveLength(4);
        else expect(local).toHaveLength(2);

        client.setBlocking(false);
        let inProgress: unknown;
        try {
          client.connect([host, local[1]]);
        } catch (error) {
          inProgress = error;
        }
        // Loopback may connect at once; when it does not, it is EINPROGRESS as BlockingIOError.
        if (inProgress !== undefined) {
          expect(BlockingIOError.isInstance(inProgress)).toBe(true);
          expect(inProgress).toMatchObject({ code: 'EINPROGRESS', syscall: 'connect' });
        }
        const [accepted, peer] = server.accept();
        conn = accepted;
        expect(client.getsockopt(SOL_SOCKET, SO_ERROR)).toBe(0);
        expect(conn.getBlocking()).toBe(true);
        expect(conn.family).toBe(family);
        const clientName = client.getsockname() as [string, number];
        expect((peer as [string, number]).slice(0, 2)).toEqual(clientName.slice(0, 2));
        expect((client.getpeername() as [string, number]).slice(0, 2)).toEqual([host, local[1]]);
        expect((conn.getpeername() as [string, number])[1]).toBe(clientName[1]);

        client.setBlocking(true);
        client.sendall(Buffer.from('hello world'));
        expect(conn.recv(5, MSG_PEEK).toString()).toBe('hello');
        const target = Buffer.alloc(64);
        let got = 0;
        while (got < 11) got += conn.recvInto(target.subarray(got));
        expect(target.subarray(0, got).toString()).toBe('hello world');

        conn.send(new Uint8Array([1, 2, 3]));
        expect([...client.recv(3)]).toEqual([1, 2, 3]);

        client.shutdown(SHUT_WR);
        expect(conn.recv(10).length).toBe(0);
      } finally {
        conn?.close();
        client.close();
        server.close();
      }
    });

    it('accept({ blocking: false }) gives a non-blocking socket; accept with no client is BlockingIOError', () => {
      const server = new Socket(family, SOCK_STREAM);
      const client = new Socket(family, SOCK_STREAM);
      let conn: Socket | undefined;
      try {
        server.bind([host, 0]);
        server.listen(1);
        server.setBlocking(false);
        expect(() => server.accept()).toThrow(expect.objectContaining({ name: 'BlockingIOError', syscall: 'accept' }));
        expect(client.connectEx([host, (server.getsockname() as [string, number])[1]])).toBe(0);
        expect(client.connectEx([host, (server.getsockname() as [string, number])[1]])).toBe(osConstants.errno.EISCONN);
        server.setBlocking(true);
        [conn] = server.accept({ blocking: false });
        expect(conn.getBlocking()).toBe(false);
        expect(() => conn!.recv(1)).toThrow(BlockingIOError);
      } finally {
        conn?.close();
        client.close();
        server.close();
      }
    });

    it('refused connection is ConnectionRefusedError with code, errno, syscall', () => {
      // A port that refuses: bound, never listening, held until the end so nothing else takes it.
      const probe = new Socket(family, SOCK_STREAM);
      probe.bind([host, 0]);
      const port = (probe.getsockname() as [string, number])[1];
      const client = new Socket(family, SOCK_STREAM);
      try {
        let caught: unknown;
        try {
          client.connect([host, port]);
        } catch (error) {
          caught = error;
        }
        expect(ConnectionRefusedError.isInstance(caught)).toBe(true);
        expect(caught).toBeInstanceOf(OSError);
        expect(caught).toMatchObject({ code: 'ECONNREFUSED', syscall: 'connect' });
        expect((caught as OSError).errno).toBeGreaterThan(0);
      } finally {
        client.close();
        probe.close();
      }
    });

    it('non-blocking connect to a refused port reports ECONNREFUSED through SO_ERROR or connect', () => {
      const probe = new Socket(family, SOCK_STREAM);
      probe.bind([host, 0]);
      const port = (probe.getsockname() as [string, number])[1];
      const client = new Socket(family, SOCK_STREAM);
      try {
        client.setBlocking(false);
        const errno = client.connectEx([host, port]);
        if (errno === ECONNREFUSED()) return;
        expect(errno).toBe(osConstants.errno.EINPROGRESS);
        // The refusal shows up in SO_ERROR (read once: reading clears it) when the attempt is over.
        const deadline = Date.now() + 5000;
        let error = 0;
        while (Date.now() < deadline && (error = client.getsockopt(SOL_SOCKET, SO_ERROR)) === 0) {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        }
        expect(error).toBe(ECONNREFUSED());
      } finally {
        client.close();
        probe.close();
      }
    });

    it('TCP_NODELAY round-trips as an int', () => {
      const sock = new Socket(family, SOCK_STREAM);
      try {
        sock.setsockopt(IPPROTO_TCP, TCP_NODELAY, true);
        expect(sock.getsockopt(IPPROTO_TCP, TCP_NODELAY)).not.toBe(0);
        sock.setsockopt(IPPROTO_TCP, TCP_NODELAY, 0);
        expect(sock.getsockopt(IPPROTO_TCP, TCP_NODELAY)).toBe(0);
        if (family === AF_INET6) {
          sock.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 1);
          expect(sock.getsockopt(IPPROTO_IPV6, IPV6_V6ONLY)).toBe(1);
        }
      } finally {
        sock.close();
      }
    });
  });
}

function ECONNREFUSED(): number {
  return osConstants.errno.ECONNREFUSED;
}
