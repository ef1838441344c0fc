import { BlockingIOError, OSError } from '@evloop/interface';
import { describe, expect, it } from 'vitest';
import { close, dup, getBlocking, getInheritable, pipe, read, readInto, setBlocking, setInheritable, write } from '../src/index.js';
import { checkFdLeaks, describePosix } from './helpers.js';

checkFdLeaks();

describePosix('pipe', 'pipes as fds', () => {
  it('is non-blocking and close-on-exec by default', () => {
    const [r, w] = pipe();
    try {
      expect(getBlocking(r)).toBe(false);
      expect(getBlocking(w)).toBe(false);
      expect(getInheritable(r)).toBe(false);
      expect(getInheritable(w)).toBe(false);
    } finally {
      close(r);
      close(w);
    }
  });

  it('can be blocking', () => {
    const [r, w] = pipe({ blocking: true });
    try {
      expect(getBlocking(r)).toBe(true);
      expect(getBlocking(w)).toBe(true);
    } finally {
      close(r);
      close(w);
    }
  });

  it('reads what was written, then EAGAIN, then EOF', () => {
    const [r, w] = pipe();
    try {
      expect(write(w, Buffer.from('hello'))).toBe(5);
      expect(write(w, new Uint16Array([0x6968]))).toBe(2);
      const data = read(r, 100);
      expect(Buffer.isBuffer(data)).toBe(true);
      expect(data.toString()).toBe('hello' + Buffer.from(new Uint16Array([0x6968]).buffer).toString());
      let caught: unknown;
      try {
        read(r, 10);
      } catch (error) {
        caught = error;
      }
      expect(BlockingIOError.isInstance(caught)).toBe(true);
      expect(caught).toBeInstanceOf(OSError);
      expect(caught).toMatchObject({ code: 'EAGAIN', syscall: 'read' });
      close(w);
      expect(read(r, 10).length).toBe(0);
    } finally {
      close(r);
      try {
        close(w);
      } catch {
        // already closed above
      }
    }
  });

  it('readInto fills a buffer', () => {
    const [r, w] = pipe();
    try {
      write(w, Buffer.from('abcdef'));
      const target = Buffer.alloc(4);
      expect(readInto(r, target)).toBe(4);
      expect(target.toString()).toBe('abcd');
      expect(readInto(r, target, 1)).toBe(1);
      expect(target.toString()).toBe('ebcd');
      expect(() => readInto(r, target, 5)).toThrow(RangeError);
    } finally {
      close(r);
      close(w);
    }
  });

  it('fills up: write throws BlockingIOError on a full non-blocking pipe', () => {
    const [r, w] = pipe();
    try {
      const chunk = Buffer.alloc(65536);
      let total = 0;
      expect(() => {
        for (let i = 0; i < 1000; i++) total += write(w, chunk);
      }).toThrow(expect.objectContaining({ code: 'EAGAIN', syscall: 'write' }));
      expect(total).toBeGreaterThan(0);
    } finally {
      close(r);
      close(w);
    }
  });

  it('write to a pipe without reader is EPIPE, not a SIGPIPE', () => {
    const [r, w] = pipe();
    close(r);
    try {
      expect(() => write(w, Buffer.from('x'))).toThrow(expect.objectContaining({ code: 'EPIPE', name: 'BrokenPipeError' }));
    } finally {
      close(w);
    }
  });
});

describePosix('fd functions', 'pipes as fds', () => {
  it('dup gives a close-on-exec copy that reads the same pipe', () => {
    const [r, w] = pipe();
    const copy = dup(r);
    try {
      expect(copy).not.toBe(r);
      expect(getInheritable(copy)).toBe(false);
      write(w, Buffer.from('x'));
      expect(read(copy, 1).toString()).toBe('x');
    } finally {
      close(copy);
      close(r);
      close(w);
    }
  });

  it('setBlocking / setInheritable toggle the flags', () => {
    const [r, w] = pipe();
    try {
      setBlocking(r, true);
      expect(getBlocking(r)).toBe(true);
      setBlocking(r, false);
      expect(getBlocking(r)).toBe(false);
      setInheritable(w, true);
      expect(getInheritable(w)).toBe(true);
      setInheritable(w, false);
      expect(getInheritable(w)).toBe(false);
    } finally {
      close(r);
      close(w);
    }
  });

  it('close of a closed fd is EBADF', () => {
    const [r, w] = pipe();
    close(r);
    close(w);
    expect(() => close(r)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'close', errno: expect.any(Number) }));
    expect(() => read(r, 1)).toThrow(OSError);
  });

  it('rejects bad arguments with TypeError/RangeError naming them', () => {
    expect(() => read(-1, 1)).toThrow(/fd/);
    expect(() => read(-1, 1)).toThrow(RangeError);
    expect(() => read('3' as never, 1)).toThrow(TypeError);
    expect(() => read(1.5, 1)).toThrow(RangeError);
    expect(() => read(0, -1)).toThrow(/n must be/);
    expect(() => write(1, 'text' as never)).toThrow(/data must be/);
    expect(() => close(2 ** 40)).toThrow(RangeError);
    expect(() => setBlocking(0, 1 as never)).toThrow(/flag must be a boolean/);
    expect(() => pipe({ blocking: 'yes' as never })).toThrow(TypeError);
    expect(() => dup(NaN)).toThrow(RangeError);
  });
});

describePosix('worker threads', 'pipes as fds', () => {
  it('the addon loads and works in a Worker too', async () => {
    const { Worker } = await import('node:worker_threads');
    const { fileURLToPath } = await import('node:url');
    const root = fileURLToPath(new URL('..', import.meta.url));
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const { createRequire } = require('node:module');
       const native = createRequire(workerData.root + '/package.json')('node-gyp-build')(workerData.root);
       const [r, w] = native.pipe(true);
       native.write(w, Buffer.from('hi'), 0, 2);
       const buffer = Buffer.alloc(4);
       const n = native.read(r, buffer, 0, 4);
       native.close(r);
       native.close(w);
       parentPort.postMessage([n, buffer.toString('utf8', 0, n), native.constants.AF_INET]);`,
      { eval: true, workerData: { root } },
    );
    try {
      const result = await new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      const { AF_INET } = await import('../src/index.js');
      expect(result).toEqual([2, 'hi', AF_INET]);
    } finally {
      await worker.terminate();
    }
  });
});
