// The epoll backend waiting on a helper thread instead of a libuv poll
// handle (for Bun and Deno, where uv_poll cannot watch the epoll fd), forced
// here on Node: the whole selector and event-loop suites run over it.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runEventLoopConformance, runSelectorConformance } from '@evloop/conformance';
import { EVENT_READ } from '@evloop/interface';
import * as sys from '@evloop/sys';
import { afterAll, describe, expect, it } from 'vitest';
import { EpollSelector, runtimeNeedsHelperThread } from '../src/index.js';

// A built entry whose backend makes helper-thread selectors, for the suite's
// child-process checks (does the thread let Node exit?).
const entryFolder = mkdtempSync(join(tmpdir(), 'evloop-epoll-helper-'));
afterAll(() => rmSync(entryFolder, { recursive: true, force: true }));
const builtEntry = new URL('../dist/index.js', import.meta.url).href;
writeFileSync(
  join(entryFolder, 'entry.mjs'),
  `import { EpollSelector } from ${JSON.stringify(builtEntry)};\nexport const backend = { createSelector: () => new EpollSelector({ helperThread: true }) };\n`,
);

runSelectorConformance({
  name: 'epoll',
  create: () => new EpollSelector({ helperThread: true }),
  features: { pollsRegularFiles: false, scalesBeyondFdSetsize: true, hasKernelFd: true },
  entryUrl: pathToFileURL(join(entryFolder, 'entry.mjs')),
});

runEventLoopConformance({
  name: 'epoll',
  packageName: '@evloop/selector-epoll',
  createSelector: () => new EpollSelector({ helperThread: true }),
});

function threadCount(): number {
  return readdirSync('/proc/self/task').length;
}

describe('epoll: choosing the helper thread', () => {
  it('Node uses the libuv watch; Bun and Deno (detected as their globals say) the helper thread', () => {
    expect(runtimeNeedsHelperThread()).toBe(false);
    Object.defineProperty(process.versions, 'bun', { value: '1.2.0', configurable: true, enumerable: true });
    try {
      expect(runtimeNeedsHelperThread()).toBe(true);
    } finally {
      delete (process.versions as Record<string, unknown>).bun;
    }
    (globalThis as { Deno?: unknown }).Deno = { version: { deno: '2.0.0' } };
    try {
      expect(runtimeNeedsHelperThread()).toBe(true);
    } finally {
      delete (globalThis as { Deno?: unknown }).Deno;
    }
    expect(runtimeNeedsHelperThread()).toBe(false);
  });

  it('options are checked', () => {
    expect(() => new EpollSelector({ helperThread: 'yes' as never })).toThrow(TypeError);
    expect(() => new EpollSelector(null as never)).toThrow(TypeError);
  });

  it('a watched helper-thread selector runs one extra thread, gone after unwatch; the libuv watch runs none', async () => {
    const [reader, writer] = sys.pipe();
    const before = threadCount();
    for (const helperThread of [true, false]) {
      const selector = new EpollSelector({ helperThread });
      selector.register(reader, EVENT_READ);
      const ready = new Promise<void>((resolve) => selector.watch(resolve));
      expect(threadCount()).toBe(before + (helperThread ? 1 : 0));
      sys.write(writer, new Uint8Array([1]));
      await ready;
      expect(selector.select(0).map(([key, events]) => [key.fd, events])).toEqual([[reader, EVENT_READ]]);
      selector.unwatch();
      expect(threadCount()).toBe(before);
      sys.read(reader, 1);
      selector.close();
    }
    sys.close(reader);
    sys.close(writer);
  });
});
