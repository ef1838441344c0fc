import { existsSync, readdirSync } from 'node:fs';
import { EVENT_READ, EVENT_WRITE, KNOWN_BACKENDS, OSError, type NativeSelectorBinding } from '@evloop/interface';
import * as sys from '@evloop/sys';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backend, SelectSelector } from '../src/index.js';
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

function selector(): SelectSelector {
  const created = new SelectSelector();
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

function pairs(selected: ReturnType<SelectSelector['select']>): Array<[number, number]> {
  return selected.map(([key, events]) => [key.fd, events]);
}

/** Opens pipes until both `fd` numbers below and at FD_SETSIZE are ours (fds are handed out lowest first). */
function pipesUpTo(limit: number): Map<number, [number, number]> {
  const byFd = new Map<number, [number, number]>();
  for (let i = 0; i < limit; i++) {
    const ends = pipe();
    byFd.set(ends[0], ends);
    byFd.set(ends[1], ends);
    if (ends[0] > limit && ends[1] > limit) break;
  }
  return byFd;
}

describe('select backend descriptor', () => {
  it('describes the select backend and its platforms from KNOWN_BACKENDS', () => {
    const known = KNOWN_BACKENDS.find((entry) => entry.name === 'select')!;
    expect(backend).toMatchObject({ specificationVersion: 'v1', name: 'select', kind: 'selector', packageName: '@evloop/selector-select' });
    expect(backend.platforms).toEqual(known.platforms);
    expect(selector().backendName).toBe('select');
  });

  it('available() probes select(2) for real and its notes name the FD_SETSIZE limit', () => {
    const availability = backend.available();
    expect(availability).toMatchObject({ ok: true });
    expect(availability.ok && availability.notes).toContain(`FD_SETSIZE (${SelectSelector.FD_SETSIZE})`);
    expect(openFdCount()).toBe(fdsBefore); // the probe's pipe is closed again
  });

  it('FD_SETSIZE comes from the native build (1024 on Linux and macOS)', () => {
    expect(SelectSelector.FD_SETSIZE).toBeGreaterThanOrEqual(64);
    if (process.platform === 'linux' || process.platform === 'darwin') expect(SelectSelector.FD_SETSIZE).toBe(1024);
  });

  it('fileno() is -1: select has no kernel object', () => {
    expect(selector().fileno()).toBe(-1);
  });
});

describe('select specifics', () => {
  it('an fd >= FD_SETSIZE is refused with RangeError naming the fd and FD_SETSIZE; the one below works', () => {
    const limit = SelectSelector.FD_SETSIZE;
    const created = selector();
    const byFd = pipesUpTo(limit);
    const [lastReader, lastWriter] = byFd.get(limit - 1)!;
    expect(() => created.register(limit, EVENT_READ)).toThrow(RangeError);
    expect(() => created.register(limit, EVENT_READ)).toThrow(new RegExp(`fd ${limit} .*FD_SETSIZE is ${limit}`));
    expect(() => created.register(limit + 1, EVENT_WRITE)).toThrow(RangeError);
    expect(created.getMap().size).toBe(0);
    // fd FD_SETSIZE - 1 is the highest select can take.
    created.register(limit - 1, EVENT_READ | EVENT_WRITE);
    const other = lastReader === limit - 1 ? lastWriter : lastReader;
    if (other === lastWriter) sys.write(lastWriter, new Uint8Array([1]));
    expect(pairs(created.select(0)).length).toBe(1);
  });

  it('the native add refuses an fd >= FD_SETSIZE before touching any fd_set, even without the TypeScript layer', () => {
    const native = binding();
    const limit = SelectSelector.FD_SETSIZE;
    expect(() => native.add(limit, EVENT_READ)).toThrow(RangeError);
    expect(() => native.add(limit * 64, EVENT_WRITE)).toThrow(RangeError);
    expect(() => native.add(0x7fffffff, EVENT_WRITE)).toThrow(RangeError);
    expect(native.wait(new Int32Array(8), 0)).toBe(0);
  });

  it('register of a closed fd fails at once with EBADF, and nothing is registered', () => {
    const created = selector();
    const [reader, writer] = pipe();
    closeFd(reader);
    closeFd(writer);
    let error: unknown;
    try {
      created.register(reader, EVENT_READ);
    } catch (caught) {
      error = caught;
    }
    expect(OSError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'EBADF', syscall: 'fcntl' });
    expect(created.getMap().size).toBe(0);
  });

  it('an fd closed while registered (select gives EBADF) is dropped, not reported, the timeout is still waited out, and unregister succeeds', () => {
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

  it('a pipe whose peer closed is readable (EOF) or writable (EPIPE), as CPython reports it', () => {
    const created = selector();
    const [reader, writer] = pipe();
    const [otherReader, otherWriter] = pipe();
    created.register(reader, EVENT_READ);
    created.register(otherWriter, EVENT_WRITE);
    closeFd(writer);
    closeFd(otherReader);
    const ready = new Map(pairs(created.select(0)));
    expect(ready.get(reader)).toBe(EVENT_READ);
    expect(ready.get(otherWriter)).toBe(EVENT_WRITE);
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
      expect(native.wait(out, 0)).toBe(2);
      seen.push(out[0]!, out[2]!);
    }
    expect(new Set(seen)).toEqual(new Set(writers));
  });

  it('native errors carry errno and syscall (EEXIST, ENOENT)', () => {
    const native = binding();
    const [reader] = pipe();
    native.add(reader, EVENT_READ);
    expect(() => native.add(reader, EVENT_READ)).toThrow(expect.objectContaining({ errno: expect.any(Number), syscall: 'select' }));
    native.remove(reader);
    expect(() => native.remove(reader)).toThrow(expect.objectContaining({ syscall: 'select' }));
    expect(() => native.modify(reader, EVENT_WRITE)).toThrow(expect.objectContaining({ syscall: 'select' }));
  });
});
