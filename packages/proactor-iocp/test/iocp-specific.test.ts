import { KNOWN_BACKENDS, NotImplementedError, RuntimeError } from '@evloop/interface';
import { DefaultEventLoopPolicy, ProactorEventLoop, SubprocessProtocol, listBackends, loopForBackend, newEventLoop, resolveBackend, sleep } from '@evloop/core-policy';
import * as sys from '@evloop/sys';
import { describe, expect, it } from 'vitest';
import { backend, IocpProactor } from '../src/index.js';

const availability = backend.available();

describe('the iocp backend descriptor', () => {
  it('is the proactor the registry names', () => {
    const known = KNOWN_BACKENDS.find((entry) => entry.name === 'iocp')!;
    expect(backend.name).toBe('iocp');
    expect(backend.kind).toBe('proactor');
    expect(backend.packageName).toBe(known.packageName);
    expect(backend.platforms).toEqual(['win32']);
    expect(backend.createSelector).toBeUndefined();
    expect(typeof backend.createProactor).toBe('function');
  });

  it('available() never throws and says ok or why not', () => {
    expect(() => backend.available()).not.toThrow();
    if (process.platform !== 'win32') expect(!availability.ok && availability.reason).toMatch(/only on Windows/);
  });

  it.runIf(process.platform !== 'win32')('cannot be created off Windows, and says why', () => {
    expect(() => new IocpProactor()).toThrow(/IOCP|Windows|could not|Cannot find|No native build/);
  });
});

describe.runIf(availability.ok)('the default policy on Windows', () => {
  it('picks iocp first, then select, and builds a ProactorEventLoop', () => {
    const order = listBackends().filter((report) => report.preference !== null).map((report) => report.name);
    expect(order).toEqual(['iocp', 'select']);
    expect(resolveBackend().name).toBe('iocp');
    const loop = newEventLoop();
    try {
      expect(loop).toBeInstanceOf(ProactorEventLoop);
      expect(loop.backend!.name).toBe('iocp');
    } finally {
      loop.close();
    }
  });
});

describe.runIf(availability.ok)('ProactorEventLoop on IOCP', () => {
  it('addReader/addWriter watch sockets (AFD polls); addPriorityReader raises NotImplementedError naming iocp and the alternative', async () => {
    const loop = loopForBackend(backend);
    const [a, b] = sys.socketpair(sys.AF_INET, sys.SOCK_STREAM, 0, { blocking: false });
    try {
      expect(() => loop.addPriorityReader(a, () => {})).toThrow(NotImplementedError);
      expect(() => loop.addPriorityReader(a, () => {})).toThrow(/iocp.*select/);
      await loop.runUntilComplete(async () => {
        const read = loop.createFuture<string>();
        loop.addReader(a, () => {
          loop.removeReader(a);
          read.setResult(a.recv(10).toString());
        });
        loop.addWriter(b, () => {
          loop.removeWriter(b);
          b.send(Buffer.from('hello'));
        });
        expect(await read).toBe('hello');
      });
    } finally {
      loop.close();
      a.close();
      b.close();
    }
  });

  it('cancelling a sockRecv cancels its overlapped receive; the proactor lets go of it', async () => {
    const loop = new ProactorEventLoop(new IocpProactor(), { backend });
    const [a, b] = sys.socketpair(sys.AF_INET, sys.SOCK_STREAM, 0, { blocking: false });
    try {
      await loop.runUntilComplete(async () => {
        const pending = loop.sockRecv(a, 10);
        await sleep(0.01);
        expect(loop.proactor.pending).toBe(1);
        pending.cancel();
        for (let i = 0; i < 100 && loop.proactor.pending > 0; i++) await sleep(0.01);
        expect(loop.proactor.pending).toBe(0);
        b.send(Buffer.from('after'));
        expect((await loop.sockRecv(a, 10)).toString()).toBe('after');
      });
    } finally {
      loop.close();
      a.close();
      b.close();
    }
  });

  it('a closed proactor throws RuntimeError', () => {
    const proactor = new IocpProactor();
    proactor.close();
    expect(() => proactor.fileno()).toThrow(RuntimeError);
    expect(() => proactor.poll(0)).toThrow(RuntimeError);
  });
});

/** What a loop method failed with, thrown at once or through its Future. */
async function failure(call: () => PromiseLike<unknown>): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describe.runIf(availability.ok)('Windows remainders on the loops', () => {
  it('pipes and subprocesses raise NotImplementedError on the IOCP loop, naming it', async () => {
    const loop = loopForBackend(backend);
    try {
      await loop.runUntilComplete(async () => {
        expect(await failure(() => loop.connectReadPipe(() => ({}), 3))).toMatchObject({ message: expect.stringMatching(/^ProactorEventLoop on iocp: connectReadPipe/) });
        expect(NotImplementedError.isInstance(await failure(() => loop.connectWritePipe(() => ({}), 3)))).toBe(true);
        expect(NotImplementedError.isInstance(await failure(() => loop.subprocessExec(() => new SubprocessProtocol(), process.execPath, ['-e', '0'])))).toBe(true);
      });
    } finally {
      loop.close();
    }
  });

  it('pipes and subprocesses raise NotImplementedError on the select loop (not ENOTSOCK)', async () => {
    const loop = new DefaultEventLoopPolicy({ backend: 'select' }).newEventLoop();
    try {
      await loop.runUntilComplete(async () => {
        expect(await failure(() => loop.connectReadPipe(() => ({}), 3))).toMatchObject({ message: expect.stringMatching(/^SelectorEventLoop on Windows: connectReadPipe/) });
        expect(NotImplementedError.isInstance(await failure(() => loop.connectWritePipe(() => ({}), 3)))).toBe(true);
        expect(NotImplementedError.isInstance(await failure(() => loop.subprocessExec(() => new SubprocessProtocol(), process.execPath, ['-e', '0'])))).toBe(true);
      });
    } finally {
      loop.close();
    }
  });

  it('addSignalHandler: SIGINT and SIGBREAK run as loop callbacks; other signals raise NotImplementedError saying why', async () => {
    const loop = loopForBackend(backend);
    try {
      await loop.runUntilComplete(async () => {
        expect(() => loop.addSignalHandler('SIGTERM', () => {})).toThrow(NotImplementedError);
        expect(() => loop.addSignalHandler('SIGTERM', () => {})).toThrow(/Node delivers only SIGINT and SIGBREAK/);
        const seen: string[] = [];
        loop.addSignalHandler('SIGINT', () => seen.push('SIGINT'));
        loop.addSignalHandler('SIGBREAK', () => seen.push('SIGBREAK'));
        // What Node does when the console sends them: the listeners run, and the handlers run on the loop after.
        process.emit('SIGINT');
        process.emit('SIGBREAK');
        expect(seen).toEqual([]);
        await sleep(0);
        expect(seen).toEqual(['SIGINT', 'SIGBREAK']);
        expect(loop.removeSignalHandler('SIGINT')).toBe(true);
        expect(loop.removeSignalHandler('SIGBREAK')).toBe(true);
      });
    } finally {
      loop.close();
    }
  });
});
