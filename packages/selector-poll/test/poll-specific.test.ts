import { existsSync, readdirSync } from 'node:fs';
import { EVENT_READ, EVENT_WRITE, KNOWN_BACKENDS, OSError, type NativeSelectorBinding } from '@evloop/interface';
import * as sys from '@evloop/sys';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backend, PollSelector } from '../src/index.js';
import { loadNative } from '../src/load-native.js';

const fdDirectory = existsSync('/proc/self/fd') ? '/proc/self/fd' : '/dev/fd';
const openFdCount = (): number => readdirSync(fdDirectory).length;

const toClose: Array<() => void> = [];
const closed = new Set<number>();
let fdsBefore = 0;

beforeEach(() => {
  closed.clear();
  fdsBefore = openFdCount();
});

afterEach(() => {
  for (const close of toClose.splice(0).reverse()) close();
  expect(openFdCount()).toBe(fdsBefore);
});

function selector(): PollSelector {
  const created = new PollSelector();
  toClose.push(() => created.close());
  return created;
}

function binding(): NativeSelectorBinding {
  const native = loadNative();
  if (native.unsupportedReason !== undefined) throw new Error(native.unsupportedReason);
  const created = new native.Selector();
  toClose.push(() => created.close());
  return created;
}

function pipe(): [number, number] {
  const ends = sys.pipe();
  for (const fd of ends) toClose.push(() => closeFd(fd));
  return ends;
}

function closeFd(fd: number): void {
  if (closed.has(fd)) return;
  closed.add(fd);
  sys.close(fd);
}

function pairs(selected: ReturnType<PollSelector['select']>): Array<[number, number]> {
  return selected.map(([key, events]) => [key.fd, events]);
}

describe('poll backend descriptor', () => {
  it('describes the poll backend and its platforms from KNOWN_BACKENDS', () => {
    const known = KNOWN_BACKENDS.find((entry) => entry.name === 'poll')!;
    expect(backend).toMatchObject({ specificationVersion: 'v1', name: 'poll', kind: 'selector', packageName: '@evloop/selector-poll' });
    expect(backend.platforms).toEqual(known.platforms);
    expect(new PollSelector().backendName).toBe('poll');
  });

  it('available() probes poll(2) for real and says ok here', () => {
    const availability = backend.available();
    expect(availability).toMatchObject({ ok: true });
    expect(openFdCount()).toBe(fdsBefore); // the probe's pipe is closed again
  });

  it('fileno() is -1: poll has no kernel object', () => {
    expect(selector().fileno()).toBe(-1);
  });
});

describe('poll specifics', () => {
  it('register of a closed fd fails at once with EBADF, and nothing is registered', () => {
    const created = selector();
    const [reader, writer] = pipe();
    closeFd(reader);
    closeFd(writer);
    const error = (() => {
      try {
        created.register(reader, EVENT_READ);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(OSError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'EBADF', syscall: 'fcntl' });
    expect(created.getMap().size).toBe(0);
  });

  it('an fd closed while registered (POLLNVAL) is never reported, a timeout is still waited out, and unregister succeeds', () => {
    const created = selector();
    const [deadReader, deadWriter] = pipe();
    const [, writer] = pipe();
    created.register(deadReader, EVENT_READ | EVENT_WRITE);
    created.register(writer, EVENT_WRITE);
    closeFd(deadReader);
    closeFd(deadWriter);
    expect(pairs(created.select(0))).toEqual([[writer, EVENT_WRITE]]);
    created.unregister(writer);
    const started = performance.now();
    expect(created.select(0.06)).toEqual([]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
    expect(created.unregister(deadReader).fd).toBe(deadReader);
  });

  it('maps POLLHUP/POLLERR as CPython does, masked by the registered events', () => {
    const created = selector();
    const [reader, writer] = pipe();
    const [otherReader, otherWriter] = pipe();
    created.register(reader, EVENT_READ);
    created.register(otherWriter, EVENT_WRITE);
    closeFd(writer); // reader: POLLHUP -> readable (EOF)
    closeFd(otherReader); // otherWriter: POLLERR -> writable (the write will fail with EPIPE)
    const ready = new Map(pairs(created.select(0)));
    expect(ready.get(reader)).toBe(EVENT_READ);
    expect(ready.get(otherWriter)).toBe(EVENT_WRITE);
  });

  it('fds far above FD_SETSIZE (1024) work', () => {
    const created = selector();
    let high: [number, number] | undefined;
    for (let i = 0; i < 700 && high === undefined; i++) {
      const ends = pipe();
      if (ends[0] > 1100) high = ends;
    }
    expect(high).toBeDefined();
    const [reader, writer] = high!;
    created.register(reader, EVENT_READ);
    expect(created.select(0)).toEqual([]);
    sys.write(writer, new Uint8Array([7]));
    expect(pairs(created.select(0))).toEqual([[reader, EVENT_READ]]);
  });

  it('when more fds are ready than the buffer holds, the rest come first next time', () => {
    const native = binding();
    const writers: number[] = [];
    for (let i = 0; i < 5; i++) {
      const [, writer] = pipe();
      native.add(writer, EVENT_WRITE);
      writers.push(writer);
    }
    const out = new Int32Array(4); // room for two pairs
    const seen: number[] = [];
    for (let call = 0; call < 3; call++) {
      const count = native.wait(out, 0);
      expect(count).toBe(2);
      seen.push(out[0]!, out[2]!);
    }
    expect(new Set(seen)).toEqual(new Set(writers));
  });

  it('native errors carry errno and syscall (EEXIST, ENOENT)', () => {
    const native = binding();
    const [reader] = pipe();
    native.add(reader, EVENT_READ);
    expect(() => native.add(reader, EVENT_READ)).toThrow(expect.objectContaining({ errno: expect.any(Number), syscall: 'poll' }));
    native.remove(reader);
    expect(() => native.remove(reader)).toThrow(expect.objectContaining({ syscall: 'poll' }));
    expect(() => native.modify(reader, EVENT_WRITE)).toThrow(expect.objectContaining({ syscall: 'poll' }));
  });
});
