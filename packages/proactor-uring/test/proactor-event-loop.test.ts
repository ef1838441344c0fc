import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RuntimeError, type BackendDescriptor } from '@evloop/interface';
import { DefaultEventLoopPolicy, ProactorEventLoop, SelectorEventLoop, loopForBackend, sleep } from '@evloop/core-policy';
import * as sys from '@evloop/sys';
import { describe, expect, it } from 'vitest';
import { backend, UringProactor } from '../src/index.js';

const availability = backend.available();

/** Run `body` on a fresh proactor loop over io_uring, closing it after. */
async function onLoop(body: (loop: ProactorEventLoop) => Promise<void>): Promise<void> {
  const loop = new ProactorEventLoop(new UringProactor(), { backend });
  try {
    await loop.runUntilComplete(() => body(loop));
  } finally {
    loop.close();
  }
}

describe.runIf(availability.ok)('ProactorEventLoop on io_uring', () => {
  it('is what the backend descriptor makes, and says which family runs', () => {
    const loop = loopForBackend(backend);
    try {
      expect(loop).toBeInstanceOf(ProactorEventLoop);
      expect(loop.backend).toBe(backend);
      expect(loop.backend!.kind).toBe('proactor');
      expect((loop as ProactorEventLoop).proactor.backendName).toBe('uring');
    } finally {
      loop.close();
    }
    const policy = new DefaultEventLoopPolicy({ backend: 'uring' });
    const fromPolicy = policy.newEventLoop();
    try {
      expect(fromPolicy).toBeInstanceOf(ProactorEventLoop);
      expect(fromPolicy.backend!.name).toBe('uring');
    } finally {
      fromPolicy.close();
    }
  });

  it('EVLOOP_BACKEND=uring builds a ProactorEventLoop in a fresh process', () => {
    const entry = fileURLToPath(new URL('../../core-policy/dist/index.cjs', import.meta.url));
    const script = `const { newEventLoop } = require(${JSON.stringify(entry)}); const loop = newEventLoop(); console.log(loop.constructor.name, loop.backend.name, loop.backend.kind); loop.close();`;
    const result = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, EVLOOP_BACKEND: 'uring' }, encoding: 'utf8', timeout: 20_000 });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('ProactorEventLoop uring proactor');
  });

  it('refuses what is not a proactor, with a TypeError that says what to use', () => {
    const selectorBackend = { name: 'epoll', kind: 'selector', createSelector: () => null } as unknown as BackendDescriptor;
    expect(() => new ProactorEventLoop(undefined, { backend: selectorBackend })).toThrow(/SelectorEventLoop/);
    expect(() => new ProactorEventLoop({} as never)).toThrow(TypeError);
    expect(() => new SelectorEventLoop(undefined, { backend })).toThrow(/loopForBackend/);
  });

  it('addReader/addWriter work, level-triggered, through readiness polls; removeReader stops them', async () => {
    await onLoop(async (loop) => {
      const [a, b] = sys.socketpair(sys.AF_UNIX, sys.SOCK_STREAM, 0, { blocking: false });
      try {
        let reads = 0;
        let writes = 0;
        loop.addWriter(a, () => {
          writes++;
          loop.removeWriter(a);
        });
        a.send(Buffer.from('x'));
        // Level-triggered: the unread byte makes the reader fire every iteration until it reads.
        const readTwice = loop.createFuture<void>();
        loop.addReader(b, () => {
          reads++;
          if (reads === 2) {
            expect(b.recv(10).toString()).toBe('x');
            readTwice.setResult(undefined);
          }
        });
        await readTwice;
        await sleep(0.02);
        expect(reads).toBe(2);
        expect(writes).toBe(1);
        expect(loop.removeReader(b)).toBe(true);
        expect(loop.removeReader(b)).toBe(false);
        expect(loop.removeWriter(a)).toBe(false);
        a.send(Buffer.from('y'));
        await sleep(0.02);
        expect(reads).toBe(2);
        expect(loop.proactor.pending).toBe(0);
      } finally {
        a.close();
        b.close();
      }
    });
  });

  it('cancelling a sock* future cancels its operation; the proactor lets go of it', async () => {
    await onLoop(async (loop) => {
      const [a, b] = sys.socketpair(sys.AF_UNIX, sys.SOCK_STREAM, 0, { blocking: false });
      try {
        const pending = loop.sockRecv(a, 10);
        await sleep(0.01);
        expect(loop.proactor.pending).toBe(1);
        pending.cancel();
        await sleep(0.01);
        expect(loop.proactor.pending).toBe(0);
        b.send(Buffer.from('after'));
        expect((await loop.sockRecv(a, 10)).toString()).toBe('after');
      } finally {
        a.close();
        b.close();
      }
    });
  });

  it('a closed loop is a RuntimeError for fd watching and sock* methods', () => {
    const loop = new ProactorEventLoop(new UringProactor());
    loop.close();
    expect(() => loop.addReader(0, () => {})).toThrow(RuntimeError);
    expect(loop.removeReader(0)).toBe(false);
    expect(() => loop.sockRecv({} as never, 1)).toThrow(RuntimeError);
  });
});
