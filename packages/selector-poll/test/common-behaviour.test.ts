// What poll and select have in common beyond the shared conformance suite:
// no kernel object, register-time fd checks, closed fds, the ready buffer.
// The same in @evloop/selector-poll and @evloop/selector-select
// (shared-copies.test.ts checks it).
import { EVENT_READ, EVENT_WRITE, KNOWN_BACKENDS, type NativeSelector, OSError } from '@evloop/interface';
import * as sys from '@evloop/sys';
import { describe, expect, it } from 'vitest';
import { backend } from '../src/index.js';
import { closeFd, createBinding, createSelector, openFdCount, pairs, pipe, thrownBy, useLeakCheck } from './helpers.js';

useLeakCheck();

describe(`${backend.name}: descriptor`, () => {
  it('matches its entry in KNOWN_BACKENDS', () => {
    const known = KNOWN_BACKENDS.find((entry) => entry.name === backend.name)!;
    expect(backend).toMatchObject({ specificationVersion: 'v1', kind: 'selector', packageName: known.packageName });
    expect(backend.platforms).toEqual(known.platforms);
    expect(createSelector().backendName).toBe(backend.name);
  });

  it('available() probes the syscall on a real pipe, closes it, and says ok here', () => {
    const fds = openFdCount();
    expect(backend.available()).toMatchObject({ ok: true, notes: expect.stringContaining('helper thread') });
    expect(openFdCount()).toBe(fds);
  });

  it('fileno() is -1: there is no kernel object', () => {
    expect((createSelector() as NativeSelector).fileno()).toBe(-1);
  });
});

describe(`${backend.name}: fds`, () => {
  it('register of a closed fd fails at once with EBADF, and nothing is registered', () => {
    const selector = createSelector();
    const [reader, writer] = pipe();
    closeFd(reader);
    closeFd(writer);
    const error = thrownBy(() => selector.register(reader, EVENT_READ));
    expect(OSError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'EBADF', syscall: 'fcntl' });
    expect(selector.getMap().size).toBe(0);
  });

  it('an fd closed while registered is never reported, a timeout is still waited out, and unregister succeeds', () => {
    const selector = createSelector();
    const [deadReader, deadWriter] = pipe();
    const [, writer] = pipe();
    selector.register(deadReader, EVENT_READ | EVENT_WRITE);
    selector.register(writer, EVENT_WRITE);
    closeFd(deadReader);
    closeFd(deadWriter);
    expect(pairs(selector.select(0))).toEqual([[writer, EVENT_WRITE]]);
    selector.unregister(writer);
    const started = performance.now();
    expect(selector.select(0.06)).toEqual([]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
    expect(selector.unregister(deadReader).fd).toBe(deadReader);
  });

  it("a pipe whose peer closed is readable (EOF) or writable (EPIPE), masked by the registered events, as CPython's selectors report it", () => {
    const selector = createSelector();
    const [reader, writer] = pipe();
    const [otherReader, otherWriter] = pipe();
    selector.register(reader, EVENT_READ);
    selector.register(otherWriter, EVENT_WRITE);
    closeFd(writer);
    closeFd(otherReader);
    expect(new Map(pairs(selector.select(0)))).toEqual(new Map([[reader, EVENT_READ], [otherWriter, EVENT_WRITE]]));
  });

  it('when more fds are ready than the buffer holds, the rest come first next time', () => {
    const binding = createBinding();
    const writers: number[] = [];
    for (let i = 0; i < 5; i++) {
      const [, writer] = pipe();
      binding.add(writer, EVENT_WRITE);
      writers.push(writer);
    }
    const out = new Int32Array(4); // room for two pairs
    const seen: number[] = [];
    for (let call = 0; call < 3; call++) {
      expect(binding.wait(out, 0)).toBe(2);
      seen.push(out[0]!, out[2]!);
    }
    expect(new Set(seen)).toEqual(new Set(writers));
  });

  it('native errors carry a numeric errno and the syscall (EEXIST, ENOENT)', () => {
    const binding = createBinding();
    const [reader, writer] = pipe();
    binding.add(reader, EVENT_READ);
    expect(thrownBy(() => binding.add(reader, EVENT_READ))).toMatchObject({ errno: expect.any(Number), syscall: backend.name });
    binding.remove(reader);
    expect(thrownBy(() => binding.remove(reader))).toMatchObject({ errno: expect.any(Number), syscall: backend.name });
    expect(thrownBy(() => binding.modify(reader, EVENT_WRITE))).toMatchObject({ errno: expect.any(Number), syscall: backend.name });
    sys.write(writer, new Uint8Array([1]));
    expect(binding.wait(new Int32Array(8), 0)).toBe(0);
  });
});
