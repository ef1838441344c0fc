import { BrokenPipeError, COMPLETION_STRIDE, KNOWN_BACKENDS, NotImplementedError, RuntimeError, completionError } from '@evloop/interface';
import {
  DefaultEventLoopPolicy,
  PIPE,
  ProactorEventLoop,
  Protocol,
  SubprocessProtocol,
  createSubprocessExec,
  createSubprocessShell,
  listBackends,
  loopForBackend,
  newEventLoop,
  resolveBackend,
  sleep,
} from '@evloop/core-policy';
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

/** Completions harvested while waiting for another token, per proactor. */
const harvestedEarlier = new WeakMap<IocpProactor, Map<number, { result: number; value: unknown }>>();

/** Poll until `token` completes (at most ~5 s): its result and value. */
function complete(proactor: IocpProactor, token: number): { result: number; value: unknown } {
  let earlier = harvestedEarlier.get(proactor);
  if (earlier === undefined) harvestedEarlier.set(proactor, (earlier = new Map()));
  for (let round = 0; round < 100; round++) {
    const found = earlier.get(token);
    if (found !== undefined) {
      earlier.delete(token);
      return found;
    }
    const count = proactor.poll(0.05);
    for (let i = 0; i < count; i++) {
      const value = proactor.completionValue(i);
      earlier.set(proactor.completions[i * COMPLETION_STRIDE]!, { result: proactor.completions[i * COMPLETION_STRIDE + 1]!, value: Buffer.isBuffer(value) ? Buffer.from(value) : value });
    }
  }
  throw new Error(`operation ${token} did not complete`);
}

describe.runIf(availability.ok)('named pipes on IOCP (overlapped ReadFile/WriteFile)', () => {
  it('a read completes with the data, then with 0 bytes once the writer is closed (ERROR_BROKEN_PIPE is EOF)', () => {
    const proactor = new IocpProactor();
    const [r, w] = sys.pipe();
    try {
      const reading = proactor.read(r, 100);
      expect(complete(proactor, proactor.write(w, Buffer.from('over a named pipe'))).result).toBe(17);
      expect((complete(proactor, reading).value as Buffer).toString()).toBe('over a named pipe');
      const eof = proactor.read(r, 100);
      sys.close(w);
      expect(complete(proactor, eof)).toMatchObject({ result: 0 });
      // Already broken when it starts: EOF again, through the failure packet.
      expect(complete(proactor, proactor.read(r, 100))).toMatchObject({ result: 0 });
    } finally {
      proactor.close();
      sys.close(r);
    }
  });

  it('a write to a pipe whose reader is gone completes with EPIPE, a BrokenPipeError', () => {
    const proactor = new IocpProactor();
    const [r, w] = sys.pipe();
    try {
      sys.close(r);
      const { result } = complete(proactor, proactor.write(w, Buffer.from('nobody reads this')));
      expect(result).toBeLessThan(0);
      const error = completionError(result, 'WriteFile');
      expect(BrokenPipeError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ code: 'EPIPE', syscall: 'WriteFile' });
    } finally {
      proactor.close();
      sys.close(w);
    }
  });

  it('cancel: a read in flight completes as cancelled, its buffer kept until then; the pipe still works after', () => {
    const proactor = new IocpProactor();
    const [r, w] = sys.pipe();
    try {
      const reading = proactor.read(r, 100);
      expect(proactor.poll(0)).toBe(0);
      expect(proactor.pending).toBe(1);
      expect(proactor.cancel(reading)).toBe(true);
      // Until the cancellation's completion is harvested, the operation (and its buffer) is held.
      expect(proactor.pending).toBe(1);
      const cancelled = complete(proactor, reading);
      expect(completionError(cancelled.result, 'ReadFile')).toMatchObject({ code: 'ECANCELED' });
      expect(cancelled.value).toBeUndefined();
      expect(proactor.pending).toBe(0);
      const again = proactor.read(r, 100);
      expect(complete(proactor, proactor.write(w, Buffer.from('after'))).result).toBe(5);
      expect((complete(proactor, again).value as Buffer).toString()).toBe('after');
    } finally {
      proactor.close();
      sys.close(r);
      sys.close(w);
    }
  });

  it('a write larger than the pipe buffer stays in flight until read; close() cancels it and gives the buffer back', () => {
    const proactor = new IocpProactor();
    const [r, w] = sys.pipe();
    try {
      proactor.write(w, Buffer.alloc(1024 * 1024, 1));
      expect(proactor.poll(0.05)).toBe(0);
      expect(proactor.pending).toBe(1);
    } finally {
      proactor.close();
      expect(proactor.pending).toBe(0);
      sys.close(r);
      sys.close(w);
    }
  });

  it('8 MiB through connectWritePipe -> connectReadPipe arrives intact', async () => {
    const loop = loopForBackend(backend);
    const [r, w] = sys.pipe();
    const payload = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < payload.length; i += 4) payload.writeUInt32LE(i, i);
    const received: Buffer[] = [];
    let lost: unknown = 'not yet';
    class Reader extends Protocol {
      override dataReceived(data: Uint8Array): void {
        received.push(Buffer.from(data));
      }
      override connectionLost(error: unknown): void {
        lost = error;
      }
    }
    try {
      await loop.runUntilComplete(async () => {
        await loop.connectReadPipe(() => new Reader(), r);
        const [writer] = await loop.connectWritePipe(() => new Protocol(), w);
        writer.write(payload);
        writer.close();
        for (let i = 0; i < 1000 && lost === 'not yet'; i++) await sleep(0.01);
      });
      expect(lost).toBe(null);
      expect(Buffer.concat(received).equals(payload)).toBe(true);
    } finally {
      loop.close();
    }
  });
});

describe.runIf(availability.ok)('subprocesses on the IOCP loop', () => {
  it('communicate() through node.exe: stdin to stdout over named pipes, the exit code as Windows reports it', async () => {
    const loop = loopForBackend(backend);
    try {
      const result = await loop.runUntilComplete(async () => {
        const child = await createSubprocessExec(process.execPath, '-e', 'process.stdin.pipe(process.stdout); process.stdin.on("end", () => { process.exitCode = 5 })', {
          stdin: PIPE,
          stdout: PIPE,
        });
        const [out] = await child.communicate(Buffer.from('round trip'));
        return { out: out!.toString(), code: child.returncode };
      });
      expect(result).toEqual({ out: 'round trip', code: 5 });
    } finally {
      loop.close();
    }
  });

  it('terminate() ends the child with TerminateProcess (returncode 1); other signals are a RangeError', async () => {
    const loop = loopForBackend(backend);
    try {
      const result = await loop.runUntilComplete(async () => {
        const child = await createSubprocessExec(process.execPath, '-e', 'console.log("ready"); setTimeout(() => {}, 60000)', { stdout: PIPE });
        const line = (await child.stdout!.readline()).toString();
        let unsupported: unknown;
        try {
          child.sendSignal('SIGINT');
        } catch (error) {
          unsupported = error;
        }
        child.terminate();
        return { line, code: await child.wait(), unsupported };
      });
      expect(result.line.trim()).toBe('ready');
      expect(result.code).toBe(1);
      expect(result.unsupported).toBeInstanceOf(RangeError);
      expect(String(result.unsupported)).toMatch(/Unsupported signal on Windows: SIGINT/);
    } finally {
      loop.close();
    }
  });

  it('createSubprocessShell runs through %ComSpec% /c', async () => {
    const loop = loopForBackend(backend);
    try {
      const out = await loop.runUntilComplete(async () => {
        const child = await createSubprocessShell('echo through cmd', { stdout: PIPE });
        const [stdout] = await child.communicate();
        return stdout!.toString();
      });
      expect(out.trim()).toBe('through cmd');
    } finally {
      loop.close();
    }
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
  it('pipes and subprocesses raise NotImplementedError on the select loop (not ENOTSOCK), naming the IOCP proactor', async () => {
    const loop = new DefaultEventLoopPolicy({ backend: 'select' }).newEventLoop();
    try {
      await loop.runUntilComplete(async () => {
        expect(await failure(() => loop.connectReadPipe(() => ({}), 3))).toMatchObject({ message: expect.stringMatching(/^SelectorEventLoop on Windows: connectReadPipe.*need the IOCP proactor/) });
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
