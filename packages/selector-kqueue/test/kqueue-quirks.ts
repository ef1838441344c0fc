// What kqueue does that the shared suite does not look at: an fd's read and
// write filters come back as one pair, modify() deletes the filter it no
// longer wants, and the ready buffer never overflows. Run against the real
// kqueue on macOS/BSD and against the Linux emulation.
import { EVENT_READ, EVENT_WRITE, type NativeSelector } from '@evloop/interface';
import { socketpair, type Socket } from '@evloop/sys';
import { afterEach, describe, expect, it } from 'vitest';

export function describeKqueueQuirks(title: string, skip: string | false, create: () => NativeSelector): void {
  describe.skipIf(skip !== false)(skip === false ? title : `${title} (${skip})`, () => {
    const cleanups: Array<() => void> = [];
    afterEach(() => {
      for (const cleanup of cleanups.splice(0).reverse()) cleanup();
    });

    function open(): NativeSelector {
      const selector = create();
      cleanups.push(() => selector.close());
      return selector;
    }

    function pair(): [Socket, Socket] {
      const sockets = socketpair();
      cleanups.push(() => sockets.forEach((socket) => socket.close()));
      return sockets;
    }

    function rawPairs(selector: NativeSelector, timeout = 0): Array<[number, number]> {
      const count = selector.selectInto(timeout);
      const pairs: Array<[number, number]> = [];
      for (let i = 0; i < count; i++) pairs.push([selector.readyBuffer[2 * i]!, selector.readyBuffer[2 * i + 1]!]);
      return pairs;
    }

    it('the read and write filters of one fd come back as one pair', () => {
      const selector = open();
      const [a, b] = pair();
      selector.register(a, EVENT_READ | EVENT_WRITE);
      b.send(new Uint8Array([1]));
      expect(rawPairs(selector)).toEqual([[a.fileno(), EVENT_READ | EVENT_WRITE]]);
    });

    it('every fd appears once per wait, within the buffer, even with both filters ready on many fds', () => {
      const selector = open();
      const fds = new Set<number>();
      for (let i = 0; i < 100; i++) {
        const [a, b] = pair();
        selector.register(a, EVENT_READ | EVENT_WRITE);
        b.send(new Uint8Array([1]));
        fds.add(a.fileno());
      }
      const seen = new Set<number>();
      for (let round = 0; round < 4 && seen.size < fds.size; round++) {
        const pairs = rawPairs(selector);
        expect(pairs.length).toBeLessThanOrEqual(selector.readyBuffer.length / 2);
        expect(new Set(pairs.map(([fd]) => fd)).size).toBe(pairs.length);
        for (const [fd, events] of pairs) {
          expect(fds.has(fd)).toBe(true);
          expect(events & ~(EVENT_READ | EVENT_WRITE)).toBe(0);
          seen.add(fd);
        }
      }
      expect(seen).toEqual(fds);
    });

    it('modify() deletes the filter no longer asked for', () => {
      const selector = open();
      const [a, b] = pair();
      selector.register(a, EVENT_READ | EVENT_WRITE);
      b.send(new Uint8Array([1]));
      selector.modify(a, EVENT_WRITE);
      expect(rawPairs(selector)).toEqual([[a.fileno(), EVENT_WRITE]]);
      selector.modify(a, EVENT_READ);
      expect(rawPairs(selector)).toEqual([[a.fileno(), EVENT_READ]]);
    });

    it('unregister() leaves no filter behind', () => {
      const selector = open();
      const [a, b] = pair();
      selector.register(a, EVENT_READ | EVENT_WRITE);
      b.send(new Uint8Array([1]));
      selector.unregister(a);
      expect(rawPairs(selector)).toEqual([]);
    });

    it('fileno() is the kqueue fd, and throws once the selector is closed', () => {
      const selector = create();
      expect(selector.fileno()).toBeGreaterThanOrEqual(0);
      selector.close();
      expect(() => selector.fileno()).toThrow();
    });
  });
}
