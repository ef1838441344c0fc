import net from 'node:net';
import * as sys from '@evloop/sys';
import { ProactorEventLoop, sleep, type BaseEventLoop } from '@evloop/core-policy';
import { serverPort, withLoop } from '@evloop/conformance';
import { describe, expect, it } from 'vitest';
import { backend, UringProactor } from '../src/index.js';

// Multishot receives copy into a slab and hand out views of it. A view given
// back (releaseReceived) by a protocol that never keeps it is copied into
// again; every other view stays as it was.

const availability = backend.available();
const multishot = (() => {
  if (!availability.ok) return false;
  const proactor = new UringProactor();
  try {
    return proactor.recvMany !== undefined;
  } finally {
    proactor.close();
  }
})();
const why = !availability.ok ? `uring is not usable here: ${availability.reason}` : !multishot ? 'no multishot receive (provided-buffer rings) on this kernel' : null;

/** Polls until `want` receive completions came; their values by socket index, in order. */
function receive(proactor: UringProactor, tokens: Map<number, number>, want: number): Array<Array<Buffer>> {
  const got: Buffer[][] = [];
  let count = 0;
  for (let round = 0; round < 100 && count < want; round++) {
    const n = proactor.poll(0.05);
    for (let i = 0; i < n; i++) {
      const index = tokens.get(proactor.completions[i * 3]!)!;
      expect(proactor.completions[i * 3 + 1]).toBeGreaterThan(0);
      (got[index] ??= []).push(proactor.completionValue(i) as Buffer);
      count++;
    }
  }
  expect(count).toBe(want);
  return got;
}

describe.skipIf(why !== null)(`releaseReceived on the uring proactor${why === null ? '' : ` (skipped: ${why})`}`, () => {
  it('refuses what is not bytes; ignores a buffer that is none of the last poll\'s values', () => {
    const proactor = new UringProactor();
    try {
      expect(() => proactor.releaseReceived('x' as never)).toThrow(TypeError);
      expect(() => proactor.releaseReceived('x' as never)).toThrow(/view/);
      expect(() => proactor.releaseReceived(Buffer.alloc(10))).not.toThrow();
    } finally {
      proactor.close();
    }
    // Closed: nothing to give back to, and no error.
    expect(() => proactor.releaseReceived(Buffer.alloc(10))).not.toThrow();
  });

  it('the room of given-back views at the slab\'s end is copied into again; a view kept before them, or given back out of turn, stays intact', () => {
    const proactor = new UringProactor();
    const pairs = [0, 1].map(() => sys.socketpair(sys.AF_UNIX, sys.SOCK_STREAM, 0, { blocking: false }));
    try {
      const tokens = new Map<number, number>();
      pairs.forEach(([a], index) => tokens.set(proactor.recvMany!(a), index));
      const message = (seed: number) => Buffer.alloc(1000, seed);
      // Poll 1: A (kept) then B (given back).
      pairs[0]![1].send(message(1));
      let got = receive(proactor, tokens, 1);
      const kept = got[0]![0]!;
      pairs[1]![1].send(message(2));
      got = receive(proactor, tokens, 1);
      const given = got[1]![0]!;
      expect(given.byteOffset).toBe(kept.byteOffset + kept.length);
      proactor.releaseReceived(given);
      // Given back twice, or an older poll's view: ignored.
      proactor.releaseReceived(given);
      proactor.releaseReceived(kept);
      // Poll 2: the next bytes go where B was.
      pairs[1]![1].send(message(3));
      got = receive(proactor, tokens, 1);
      const next = got[1]![0]!;
      expect(next.buffer).toBe(given.buffer);
      expect(next.byteOffset).toBe(given.byteOffset);
      expect(next.equals(message(3))).toBe(true);
      expect(kept.equals(message(1))).toBe(true);
      // Poll 3: two arrivals in one poll; only the first is given back (it is not at the slab's end): nothing is reused.
      pairs[0]![1].send(message(4));
      pairs[1]![1].send(message(5));
      got = receive(proactor, tokens, 2);
      const [first, second] = [got[0]![0]!, got[1]![0]!].sort((x, y) => x.byteOffset - y.byteOffset) as [Buffer, Buffer];
      expect(first.byteOffset).toBe(next.byteOffset + next.length);
      proactor.releaseReceived(first);
      const secondCopy = Buffer.from(second);
      pairs[0]![1].send(message(6));
      got = receive(proactor, tokens, 1);
      expect(got[0]![0]!.byteOffset).toBe(second.byteOffset + second.length);
      expect(second.equals(secondCopy)).toBe(true);
      expect(kept.equals(message(1))).toBe(true);
    } finally {
      proactor.close();
      for (const [a, b] of pairs) {
        a.close();
        b.close();
      }
    }
  });

  /** A protocol that echoes; `consumes` marks it as one that never keeps a received view (as native TLS is). */
  class Echo {
    transport: { write(data: Uint8Array): void } | null = null;
    views: Buffer[] = [];
    copies: Buffer[] = [];
    constructor(consumes: boolean) {
      if (consumes) Object.defineProperty(this, Symbol.for('evloop.consumesReceivedData'), { value: true });
    }
    connectionMade(transport: { write(data: Uint8Array): void }): void {
      this.transport = transport;
    }
    dataReceived(data: Buffer): void {
      this.views.push(data);
      this.copies.push(Buffer.from(data));
      this.transport!.write(Buffer.from(data));
    }
    connectionLost(): void {}
  }

  /** A Node client that sends `rounds` messages, each after the echo of the one before. */
  function pingPong(port: number, rounds: number, seed: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      let round = 0;
      let pending = 0;
      const send = () => {
        const message = Buffer.alloc(3000, (seed + round) & 0xff);
        pending = message.length;
        socket.write(message);
      };
      socket.on('connect', send);
      socket.on('data', (data: Buffer) => {
        pending -= data.length;
        if (pending > 0) return;
        if (++round === rounds) {
          socket.end();
          resolve();
        } else {
          send();
        }
      });
      socket.on('error', reject);
    });
  }

  it('a protocol marked as consuming what it receives is handed the same room again; a protocol that keeps its views, served on the same slab at the same time, finds them intact', () =>
    withLoop(
      () => new ProactorEventLoop(backend.createProactor!(), { backend }),
      (harness) =>
        harness.loop.runUntilComplete(async () => {
          const loop: BaseEventLoop = harness.loop;
          const protocols: Echo[] = [];
          // The first two connections' protocols consume their views, the third keeps its own.
          const server = await loop.createServer(() => {
            const protocol = new Echo(protocols.length < 2);
            protocols.push(protocol);
            return protocol;
          }, '127.0.0.1', 0);
          try {
            const port = serverPort(server);
            // Alone, one message at a time: its bytes keep landing in the same room.
            await pingPong(port, 40, 0);
            const consuming = protocols[0]!;
            expect(consuming.views.length).toBeGreaterThanOrEqual(40);
            const rooms = new Set(consuming.views.map((view) => view.byteOffset));
            expect(rooms.size).toBeLessThan(consuming.views.length / 4);
            // A consuming and a keeping connection at the same time, on the same slab.
            const second = pingPong(port, 40, 50);
            while (protocols.length < 2) await sleep(0.001);
            await Promise.all([second, pingPong(port, 40, 100)]);
            expect(protocols.length).toBe(3);
            const keeping = protocols[2]!;
            expect(keeping.views.length).toBeGreaterThanOrEqual(40);
            keeping.views.forEach((view, index) => expect(view.equals(keeping.copies[index]!), `kept view ${index}`).toBe(true));
          } finally {
            server.close();
            await server.waitClosed();
          }
        }),
    ));
});
