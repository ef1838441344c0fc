import { describe, expect, it } from 'vitest';
import { EVENT_READ, EVENT_WRITE, OSError, type FileObject } from '@evloop/interface';
import { MemorySelector, SelectorEventLoop, memorySocketPair, type BaseEventLoop } from '@evloop/core-policy';
import { withLoop, type LoopHarness } from './helpers.js';

/** A MemorySelector whose next `modify` fails, as a kernel's epoll_ctl can. */
class FailingModifySelector extends MemorySelector {
  failNext = false;

  override modify(fileobj: FileObject, events: number, data?: unknown) {
    if (this.failNext) {
      this.failNext = false;
      throw new OSError(12, 'epoll_ctl', 'Cannot allocate memory', 'ENOMEM');
    }
    return super.modify(fileobj, events, data);
  }
}

function selectorLoopTest(title: string, body: (harness: LoopHarness & { loop: SelectorEventLoop; selector: FailingModifySelector }) => Promise<void> | void): void {
  it(title, () => {
    const selector = new FailingModifySelector();
    return withLoop(
      () => new SelectorEventLoop(selector) as BaseEventLoop,
      (harness) => body({ ...harness, loop: harness.loop as SelectorEventLoop, selector }),
    );
  });
}

describe("a selector loop's fd callbacks", () => {
  selectorLoopTest('a reader with one argument gets it, and reads as a Handle', async ({ loop }) => {
    const [a, b] = memorySocketPair();
    try {
      const seen: unknown[] = [];
      const token = { name: 'token' };
      const done = loop.createFuture<void>();
      loop.addReader(a, function onReadable(...args: unknown[]) {
        seen.push(args);
        loop.removeReader(a);
        done.setResult(undefined);
      }, token);
      expect(String(loop._callbackOf(a.fileno(), 'reader'))).toBe('<Handle onReadable()>');
      b.write(Buffer.from('x'));
      await loop.runUntilComplete(done);
      expect(seen).toEqual([[token]]);
      expect(seen[0]).toHaveLength(1);
    } finally {
      a.close();
      b.close();
    }
  });

  selectorLoopTest("a one-argument reader's exception goes to the exception handler", async ({ loop, claimErrors }) => {
    const [a, b] = memorySocketPair();
    try {
      const boom = new Error('boom');
      const done = loop.createFuture<void>();
      loop.addReader(a, function failingReader(arg: number) {
        loop.removeReader(a);
        loop.callSoon(() => done.setResult(undefined));
        throw Object.assign(boom, { arg });
      }, 7);
      b.write(Buffer.from('x'));
      await loop.runUntilComplete(done);
      const errors = claimErrors();
      expect(errors).toHaveLength(1);
      expect(errors[0]!.message).toBe('Exception in callback failingReader()');
      expect(errors[0]!.exception).toBe(boom);
      expect((boom as Error & { arg?: number }).arg).toBe(7);
    } finally {
      a.close();
      b.close();
    }
  });

  selectorLoopTest('reader, writer and their removal keep one data object per fd, and a cancelled handle drops its argument', ({ loop, selector }) => {
    const [a, b] = memorySocketPair();
    try {
      const fd = a.fileno();
      const argument = { big: 'object' };
      loop.addReader(a, (_arg: object) => {}, argument);
      const data = selector.getKey(fd).data;
      const reader = loop._callbackOf(fd, 'reader')!;
      loop.addWriter(a, () => {});
      expect(selector.getKey(fd).events).toBe(EVENT_READ | EVENT_WRITE);
      expect(selector.getKey(fd).data).toBe(data);
      expect(loop._callbackOf(fd, 'reader')).toBe(reader);
      expect(loop._callbackOf(fd, 'writer')).not.toBeNull();
      expect(loop.removeWriter(a)).toBe(true);
      expect(loop.removeWriter(a)).toBe(false);
      expect(selector.getKey(fd).events).toBe(EVENT_READ);
      expect(selector.getKey(fd).data).toBe(data);
      expect(loop._callbackOf(fd, 'writer')).toBeNull();
      expect(loop.removeReader(a)).toBe(true);
      expect(reader.cancelled()).toBe(true);
      expect((reader as unknown as { _arg: unknown })._arg).toBeUndefined();
      expect(selector.getMap().has(fd)).toBe(false);
      expect(loop.removeReader(a)).toBe(false);
    } finally {
      a.close();
      b.close();
    }
  });

  selectorLoopTest('a failed modify leaves the reader and writer as they were', ({ loop, selector }) => {
    const [a, b] = memorySocketPair();
    try {
      const fd = a.fileno();
      loop.addReader(a, () => {});
      const reader = loop._callbackOf(fd, 'reader')!;
      selector.failNext = true;
      expect(() => loop.addWriter(a, () => {})).toThrow(OSError);
      expect(loop._callbackOf(fd, 'writer')).toBeNull();
      expect(loop._callbackOf(fd, 'reader')).toBe(reader);
      expect(reader.cancelled()).toBe(false);
      expect(selector.getKey(fd).events).toBe(EVENT_READ);

      loop.addWriter(a, () => {});
      const writer = loop._callbackOf(fd, 'writer')!;
      selector.failNext = true;
      expect(() => loop.removeReader(a)).toThrow(OSError);
      expect(loop._callbackOf(fd, 'reader')).toBe(reader);
      expect(loop._callbackOf(fd, 'writer')).toBe(writer);
      expect(selector.getKey(fd).events).toBe(EVENT_READ | EVENT_WRITE);
      expect(loop.removeReader(a)).toBe(true);
      expect(loop.removeWriter(a)).toBe(true);
      expect(loop.removeWriter(a)).toBe(false);
    } finally {
      a.close();
      b.close();
    }
  });
});
