// Readiness on IOCP through AFD polls (IOCTL_AFD_POLL): the proactor's
// pollAdd, and addReader/addWriter of a ProactorEventLoop over it.
import { BlockingIOError, COMPLETION_STRIDE, EVENT_PRIORITY, EVENT_READ, EVENT_WRITE, NotImplementedError, completionError } from '@evloop/interface';
import { ProactorEventLoop, sleep } from '@evloop/core-policy';
import * as sys from '@evloop/sys';
import { afterEach, describe, expect, it } from 'vitest';
import { backend, IocpProactor } from '../src/index.js';

const availability = backend.available();

/** Poll (at most about 10 s in all) until every token has completed; their results by token. */
function results(proactor: IocpProactor, tokens: number[]): Map<number, number> {
  const wanted = new Set(tokens);
  const seen = new Map<number, number>();
  for (let round = 0; round < 200 && wanted.size > 0; round++) {
    const count = proactor.poll(0.05);
    for (let i = 0; i < count; i++) {
      const token = proactor.completions[i * COMPLETION_STRIDE]!;
      if (seen.has(token)) throw new Error(`token ${token} completed twice`);
      if (wanted.delete(token)) seen.set(token, proactor.completions[i * COMPLETION_STRIDE + 1]!);
    }
  }
  if (wanted.size > 0) throw new Error(`${wanted.size} poll(s) never completed`);
  return seen;
}

const result = (proactor: IocpProactor, token: number): number => results(proactor, [token]).get(token)!;
const code = (value: number): string => (value < 0 ? completionError(value, 'poll').code : 'ok');

describe.runIf(availability.ok)('AFD readiness polls (pollAdd)', () => {
  const open: Array<{ close(): void }> = [];
  afterEach(() => {
    for (const item of open.splice(0).reverse()) {
      try {
        item.close();
      } catch {
        // closed by the test
      }
    }
  });
  function proactor(): IocpProactor {
    const made = new IocpProactor();
    open.push(made);
    return made;
  }
  function pair(): [sys.Socket, sys.Socket] {
    const sockets = sys.socketpair(sys.AF_INET, sys.SOCK_STREAM, 0, { blocking: false });
    open.push(...sockets);
    return sockets;
  }

  it('says it has readiness', () => {
    expect(proactor().features.readiness).toBe(true);
  });

  it('a connected socket is write-ready at once; read-ready only once the peer has written', () => {
    const port = proactor();
    const [a, b] = pair();
    expect(result(port, port.pollAdd(a, EVENT_WRITE))).toBe(EVENT_WRITE);
    const token = port.pollAdd(b, EVENT_READ);
    expect(port.poll(0.05)).toBe(0);
    expect(port.pending).toBe(1);
    a.send(Buffer.from('ping'));
    expect(result(port, token)).toBe(EVENT_READ);
    // Level-triggered: unread data makes the next poll complete at once, with both when both are asked.
    expect(result(port, port.pollAdd(b, EVENT_READ | EVENT_WRITE))).toBe(EVENT_READ | EVENT_WRITE);
    expect(b.recv(10).toString()).toBe('ping');
    expect(port.pending).toBe(0);
  });

  it('cancel before readiness completes the poll with ECANCELED, and the socket can be polled again', () => {
    const port = proactor();
    const [a, b] = pair();
    const token = port.pollAdd(b, EVENT_READ);
    expect(port.poll(0)).toBe(0);
    expect(port.cancel(token)).toBe(true);
    expect(code(result(port, token))).toBe('ECANCELED');
    expect(port.pending).toBe(0);
    expect(port.cancel(token)).toBe(false);
    const again = port.pollAdd(b, EVENT_READ);
    a.send(Buffer.from('x'));
    expect(result(port, again)).toBe(EVENT_READ);
  });

  it('the peer closing gives read readiness, and then recv reads end of file', () => {
    const port = proactor();
    const [a, b] = pair();
    const token = port.pollAdd(b, EVENT_READ);
    a.close();
    expect(result(port, token)).toBe(EVENT_READ);
    expect(b.recv(10).byteLength).toBe(0);
  });

  it('a listening socket is read-ready when a connection waits to be accepted', () => {
    const port = proactor();
    const listener = new sys.Socket(sys.AF_INET, sys.SOCK_STREAM);
    open.push(listener);
    listener.bind(['127.0.0.1', 0]);
    listener.listen(4);
    listener.setBlocking(false);
    const token = port.pollAdd(listener, EVENT_READ);
    expect(port.poll(0.05)).toBe(0);
    const client = new sys.Socket(sys.AF_INET, sys.SOCK_STREAM);
    open.push(client);
    client.setBlocking(false);
    try {
      client.connect(listener.getsockname() as [string, number]);
    } catch {
      // in progress
    }
    expect(result(port, token)).toBe(EVENT_READ);
    const [accepted] = listener.accept();
    open.push(accepted);
  });

  it('closing the watched socket ends its poll with EBADF', () => {
    const port = proactor();
    const [, b] = pair();
    const token = port.pollAdd(b, EVENT_READ);
    expect(port.poll(0)).toBe(0);
    b.close();
    expect(code(result(port, token))).toBe('EBADF');
  });

  it('a closed socket polls as EBADF', () => {
    const port = proactor();
    const [, b] = pair();
    const fd = b.fileno();
    b.close();
    expect(code(result(port, port.pollAdd(fd, EVENT_READ)))).toBe('EBADF');
  });

  it('many sockets at once: each poll completes once, for its own socket', () => {
    const port = proactor();
    const pairs = Array.from({ length: 64 }, () => pair());
    const tokens = pairs.map(([, b]) => port.pollAdd(b, EVENT_READ));
    expect(port.pending).toBe(64);
    // Only every other socket gets data: only those polls complete.
    pairs.forEach(([a], i) => {
      if (i % 2 === 0) a.send(Buffer.from([i]));
    });
    const ready = results(port, tokens.filter((_, i) => i % 2 === 0));
    for (const value of ready.values()) expect(value).toBe(EVENT_READ);
    expect(port.poll(0.05)).toBe(0);
    expect(port.pending).toBe(32);
    expect(port.cancelFd(pairs[1]![1])).toBe(1);
    pairs.forEach(([a], i) => {
      if (i % 2 === 1) a.send(Buffer.from([i]));
    });
    const rest = results(port, tokens.filter((_, i) => i % 2 === 1));
    expect(code(rest.get(tokens[1]!)!)).toBe('ECANCELED');
    for (const [token, value] of rest) if (token !== tokens[1]) expect(value).toBe(EVENT_READ);
    expect(port.pending).toBe(0);
  });

  it('priority readiness raises NotImplementedError naming iocp and the alternative; a bad mask is a RangeError', () => {
    const port = proactor();
    const [a] = pair();
    expect(() => port.pollAdd(a, EVENT_PRIORITY)).toThrow(NotImplementedError);
    expect(() => port.pollAdd(a, EVENT_READ | EVENT_PRIORITY)).toThrow(/iocp.*select/);
    expect(() => port.pollAdd(a, 8)).toThrow(RangeError);
    expect(port.pending).toBe(0);
  });

  it('close() with polls in flight cancels them and lets go', () => {
    const port = new IocpProactor();
    const [, b] = pair();
    port.pollAdd(b, EVENT_READ);
    port.pollAdd(b, EVENT_READ | EVENT_WRITE);
    port.close();
    expect(port.pending).toBe(0);
  });
});

describe.runIf(availability.ok)('addReader/addWriter on the IOCP ProactorEventLoop', () => {
  it('a reader runs when the peer writes, as often as data is left, and stops after removeReader', async () => {
    const loop = new ProactorEventLoop(new IocpProactor(), { backend });
    const [a, b] = sys.socketpair(sys.AF_INET, sys.SOCK_STREAM, 0, { blocking: false });
    try {
      await loop.runUntilComplete(async () => {
        const received: string[] = [];
        const done = loop.createFuture<void>();
        let spurious = 0;
        loop.addReader(b, () => {
          // The poll starts again only after this callback has run, so it
          // never reports a byte this callback already read.
          try {
            received.push(b.recv(1).toString());
          } catch (error) {
            if (!BlockingIOError.isInstance(error)) throw error;
            spurious++;
          }
          if (received.length === 3 && !done.done()) done.setResult();
        });
        await sleep(0.02);
        expect(received).toEqual([]);
        a.send(Buffer.from('abc'));
        await done;
        expect(received).toEqual(['a', 'b', 'c']);
        expect(loop.removeReader(b)).toBe(true);
        expect(loop.removeReader(b)).toBe(false);
        a.send(Buffer.from('d'));
        await sleep(0.05);
        expect(received).toEqual(['a', 'b', 'c']);
        expect(spurious).toBe(0);
        for (let i = 0; i < 100 && loop.proactor.pending > 0; i++) await sleep(0.01);
        expect(loop.proactor.pending).toBe(0);
      });
    } finally {
      loop.close();
      a.close();
      b.close();
    }
  });

  it('a writer runs while the socket is writable; removeWriter before readiness cancels its poll cleanly', async () => {
    const loop = new ProactorEventLoop(new IocpProactor(), { backend });
    const [a, b] = sys.socketpair(sys.AF_INET, sys.SOCK_STREAM, 0, { blocking: false });
    try {
      await loop.runUntilComplete(async () => {
        const writable = loop.createFuture<void>();
        loop.addWriter(a, () => {
          if (!writable.done()) writable.setResult();
        });
        await writable;
        expect(loop.removeWriter(a)).toBe(true);
        // A reader that never becomes ready, removed: its poll is cancelled and the proactor empties.
        let ran = false;
        loop.addReader(a, () => {
          ran = true;
        });
        await sleep(0.02);
        expect(loop.removeReader(a)).toBe(true);
        for (let i = 0; i < 100 && loop.proactor.pending > 0; i++) await sleep(0.01);
        expect(loop.proactor.pending).toBe(0);
        expect(ran).toBe(false);
        void b;
      });
    } finally {
      loop.close();
      a.close();
      b.close();
    }
  });
});
