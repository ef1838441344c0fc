import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { BaseSelector, BaseTransport } from '@evloop/interface';
import {
  CancelledError,
  DEVNULL,
  PIPE,
  STDOUT,
  SubprocessProtocol,
  Protocol,
  createSubprocessExec,
  createSubprocessShell,
  sleep,
  type BaseEventLoop,
} from '@evloop/core-policy';
import * as sys from '@evloop/sys';
import { withLoop, loopFamily, type LoopSource } from './harness.js';

export interface SubprocessConformanceOptions extends LoopSource {
  name: string;
}

const node = process.execPath;
const windows = process.platform === 'win32';
/** `cat` where there is one; node.exe copying stdin to stdout on Windows (which runs under Wine too). */
const cat: [string, string[]] = windows ? [node, ['-e', 'process.stdin.pipe(process.stdout)']] : ['cat', []];
/** What a child ended by kill() reports: -SIGKILL on POSIX, TerminateProcess's exit code 1 on Windows. */
const killedReturncode = windows ? 1 : -os.constants.signals.SIGKILL;

class Collecting extends SubprocessProtocol {
  readonly events: string[] = [];
  readonly data = new Map<number, Buffer[]>();
  readonly done: Promise<void>;
  #resolve!: () => void;
  transport: BaseTransport | null = null;

  constructor() {
    super();
    this.done = new Promise((resolve) => (this.#resolve = resolve));
  }

  override connectionMade(transport: BaseTransport): void {
    this.transport = transport;
    this.events.push('connectionMade');
  }

  override pipeDataReceived(fd: number, data: Uint8Array): void {
    const list = this.data.get(fd) ?? [];
    list.push(Buffer.from(data));
    this.data.set(fd, list);
  }

  override pipeConnectionLost(fd: number, error: unknown): void {
    this.events.push(`pipeConnectionLost:${fd}:${error === null ? 'null' : String(error)}`);
  }

  override processExited(): void {
    this.events.push('processExited');
  }

  override connectionLost(error: unknown): void {
    this.events.push(`connectionLost:${String(error)}`);
    this.#resolve();
  }

  text(fd: number): string {
    return Buffer.concat(this.data.get(fd) ?? []).toString();
  }
}

/** Child pids of this process (Linux), or null where the kernel does not list them. */
function childPids(): number[] | null {
  try {
    const tasks = fs.readdirSync('/proc/self/task');
    const pids: number[] = [];
    for (const task of tasks) {
      const text = fs.readFileSync(`/proc/self/task/${task}/children`, 'utf8').trim();
      if (text) pids.push(...text.split(/\s+/).map(Number));
    }
    return pids;
  } catch {
    return null;
  }
}

/**
 * Subprocesses and pipes on one backend: asyncio's subprocess_exec/shell,
 * the stream-level Process, and connect_read_pipe/connect_write_pipe.
 */
export function runSubprocessConformance(options: SubprocessConformanceOptions): void {
  const { name } = options;
  const family = loopFamily(options);
  const createLoop = family.create;
  const test = (title: string, body: Parameters<typeof withLoop>[1]) => it(title, () => withLoop(createLoop, body));
  /** A case that needs what Windows has not (a POSIX shell, PTYs, FIFOs): skipped there, naming why. */
  const posixTest = (reason: string, title: string, body: Parameters<typeof withLoop>[1]) =>
    windows ? it.skip(`${title} (skipped on Windows: ${reason})`, () => {}) : test(title, body);
  // On Windows only a proactor loop (IOCP) has pipes and subprocesses; the select loop raises NotImplementedError.
  const unsupported = windows && family.kind !== 'proactor';

  describe.skipIf(unsupported)(`subprocess conformance: ${name}${unsupported ? ' (skipped: on Windows pipes and subprocesses need the IOCP proactor)' : ''}`, () => {
    describe('protocol level', () => {
      test('subprocessExec: connectionMade, pipe data, processExited, then connectionLost', async ({ loop }) => {
        const [transport, protocol] = await loop.runUntilComplete(
          loop.subprocessExec(() => new Collecting(), node, ['-e', 'process.stdout.write("out"); process.stderr.write("err"); process.exitCode = 3']),
        );
        await loop.runUntilComplete(protocol.done);
        expect(protocol.text(1)).toBe('out');
        expect(protocol.text(2)).toBe('err');
        expect(transport.getReturncode()).toBe(3);
        expect(transport.getPid()).toBeGreaterThan(0);
        expect(protocol.events[0]).toBe('connectionMade');
        expect(protocol.events).toContain('processExited');
        expect(protocol.events).toContain('pipeConnectionLost:1:null');
        expect(protocol.events.at(-1)).toBe('connectionLost:null');
        transport.close();
      });

      test('subprocessShell runs through /bin/sh (cmd.exe on Windows); stderr=STDOUT merges, DEVNULL discards', async ({ loop }) => {
        const command = windows ? 'echo one& echo two>&2' : 'echo one; echo two 1>&2';
        const [transport, protocol] = await loop.runUntilComplete(
          loop.subprocessShell(() => new Collecting(), command, { stdin: DEVNULL, stderr: STDOUT }),
        );
        await loop.runUntilComplete(protocol.done);
        expect(protocol.text(1).replaceAll('\r\n', '\n')).toBe('one\ntwo\n');
        expect(transport.getPipeTransport(0)).toBe(null);
        expect(transport.getPipeTransport(2)).toBe(null);
        transport.close();
      });

      test('writing to the child through the stdin pipe transport', async ({ loop }) => {
        const [transport, protocol] = await loop.runUntilComplete(loop.subprocessExec(() => new Collecting(), ...cat));
        const stdin = transport.getPipeTransport(0) as unknown as { write(data: Uint8Array): void; close(): void };
        stdin.write(Buffer.from('through cat'));
        stdin.close();
        await loop.runUntilComplete(protocol.done);
        expect(protocol.text(1)).toBe('through cat');
        expect(transport.getReturncode()).toBe(0);
        transport.close();
      });

      test('bad arguments are refused as asyncio refuses them', ({ loop }) => {
        const factory = () => new Collecting();
        expect(() => loop.subprocessExec(factory, node, [], { universalNewlines: true })).toThrow(RangeError);
        expect(() => loop.subprocessExec(factory, node, [], { shell: true })).toThrow(/shell must be false/);
        expect(() => loop.subprocessExec(factory, node, [], { bufsize: 1 })).toThrow(/bufsize must be 0/);
        expect(() => loop.subprocessExec(factory, node, [], { stdin: STDOUT })).toThrow(/STDOUT can only be used for stderr/);
        expect(() => loop.subprocessExec(factory, node, [1 as never])).toThrow(TypeError);
        expect(() => loop.subprocessShell(factory, ['ls'] as never)).toThrow(TypeError);
      });

      test('a program that does not exist is a FileNotFoundError with code ENOENT', async ({ loop }) => {
        const error = await loop
          .runUntilComplete(loop.subprocessExec(() => new Collecting(), '/nonexistent/evloop-no-such-program', []))
          .then(() => null, (caught: unknown) => caught as { code?: string; name?: string });
        expect(error?.code).toBe('ENOENT');
        expect(error?.name).toBe('FileNotFoundError');
      });

      test('close() kills a child that is still running; signals after close are ProcessLookupError', async ({ loop }) => {
        const [transport, protocol] = await loop.runUntilComplete(loop.subprocessExec(() => new Collecting(), node, ['-e', 'setTimeout(() => {}, 60000)']));
        transport.close();
        await loop.runUntilComplete(protocol.done);
        expect(transport.getReturncode()).toBe(killedReturncode);
        expect(() => transport.sendSignal('SIGTERM')).toThrow(expect.objectContaining({ name: 'ProcessLookupError' }));
      });
    });

    describe('stream level', () => {
      test('communicate: 10 MB through stdin -> cat -> stdout arrives intact', async ({ loop }) => {
        const input = Buffer.alloc(10 * 1024 * 1024);
        for (let i = 0; i < input.length; i += 4) input.writeUInt32LE(i, i);
        const [stdout, stderr, returncode] = await loop.runUntilComplete(async () => {
          const child = await createSubprocessExec(cat[0], ...cat[1], { stdin: PIPE, stdout: PIPE, stderr: PIPE });
          const [out, err] = await child.communicate(input);
          return [out, err, child.returncode] as const;
        });
        expect(returncode).toBe(0);
        expect(stderr!.length).toBe(0);
        expect(stdout!.length).toBe(input.length);
        expect(stdout!.equals(input)).toBe(true);
      });

      test('stdout readline, wait(), pid and the returncode after kill() (-SIGKILL; 1 on Windows)', async ({ loop }) => {
        const result = await loop.runUntilComplete(async () => {
          const child = await createSubprocessExec(node, '-e', 'console.log("ready"); setTimeout(() => {}, 60000)', { stdout: PIPE });
          const line = (await child.stdout!.readline()).toString();
          child.kill();
          const code = await child.wait();
          return { line, code, pid: child.pid, returncode: child.returncode };
        });
        expect(result.line.replace('\r\n', '\n')).toBe('ready\n');
        expect(result.code).toBe(killedReturncode);
        expect(result.returncode).toBe(result.code);
        expect(result.pid).toBeGreaterThan(0);
      });

      posixTest('the command is a POSIX shell background job', 'wait() returns when the child exits even if a grandchild still holds its pipe', async ({ loop }) => {
        const started = Date.now();
        const result = await loop.runUntilComplete(async () => {
          const child = await createSubprocessShell('sleep 3 & echo started', { stdout: PIPE });
          const line = (await child.stdout!.readline()).toString();
          const code = await child.wait();
          return { line, code, child };
        });
        expect(result.line).toBe('started\n');
        expect(result.code).toBe(0);
        expect(Date.now() - started).toBeLessThan(2500);
        // The grandchild keeps the pipe until it ends; close our side now.
        (result.child as unknown as { stdout: { _transport?: { close(): void } } }).stdout._transport?.close();
        await loop.runUntilComplete(sleep(0));
      });

      test('a child that exits while we write gives a clean result, never a hang', async ({ loop }) => {
        const outcome = await loop.runUntilComplete(async () => {
          const child = await createSubprocessExec(node, '-e', 'process.exit(0)', { stdin: PIPE, stdout: PIPE });
          const [out] = await child.communicate(Buffer.alloc(4 * 1024 * 1024, 1));
          return { out: out!.length, code: child.returncode };
        });
        expect(outcome).toEqual({ out: 0, code: 0 });
      });

      test('cancelling while the child is being set up leaves no process behind', async ({ loop }) => {
        const before = childPids();
        const task = loop.createTask(async () => createSubprocessExec(node, '-e', 'setTimeout(() => {}, 60000)', { stdout: PIPE }));
        loop.callSoon(() => task.cancel());
        await expect(loop.runUntilComplete(task)).rejects.toThrow(CancelledError);
        await loop.runUntilComplete(sleep(0.2));
        const after = childPids();
        if (before !== null && after !== null) expect(after.filter((pid) => !before.includes(pid))).toEqual([]);
      });

      test('createSubprocessExec inherits stdio by default and takes options last', async ({ loop }) => {
        const code = await loop.runUntilComplete(async () => {
          const child = await createSubprocessExec(node, '-e', 'process.exit(7)', { stdout: DEVNULL });
          return child.wait();
        });
        expect(code).toBe(7);
      });
    });

    describe('pipes', () => {
      test('connectReadPipe and connectWritePipe: data, EOF, connectionLost', async ({ loop }) => {
        const [readFd, writeFd] = sys.pipe();
        const received: Buffer[] = [];
        const events: string[] = [];
        class Reader extends Protocol {
          override dataReceived(data: Uint8Array): void {
            received.push(Buffer.from(data));
          }
          override eofReceived(): void {
            events.push('eof');
          }
          override connectionLost(error: unknown): void {
            events.push(`lost:${String(error)}`);
          }
        }
        const [readTransport] = await loop.runUntilComplete(loop.connectReadPipe(() => new Reader(), readFd));
        const [writeTransport] = await loop.runUntilComplete(loop.connectWritePipe(() => new Protocol(), writeFd));
        writeTransport.write(Buffer.from('hello '));
        writeTransport.writelines([Buffer.from('pipe'), Buffer.from('!')]);
        expect(writeTransport.canWriteEof()).toBe(true);
        writeTransport.writeEof();
        await loop.runUntilComplete(async () => {
          for (let i = 0; i < 100 && !events.includes('lost:null'); i++) await sleep(0.01);
        });
        expect(Buffer.concat(received).toString()).toBe('hello pipe!');
        expect(events).toEqual(['eof', 'lost:null']);
        expect(readTransport.isClosing()).toBe(true);
      });

      test('pipe transports: extra info names the pipe (not a socket); Symbol.asyncDispose flushes, closes and waits for connectionLost', async ({ loop }) => {
        const [readFd, writeFd] = sys.pipe();
        const received: Buffer[] = [];
        const events: string[] = [];
        class Reader extends Protocol {
          override dataReceived(data: Uint8Array): void {
            received.push(Buffer.from(data));
          }
          override connectionLost(): void {
            events.push('read lost');
          }
        }
        class Writer extends Protocol {
          override connectionLost(error: unknown): void {
            events.push(`write lost:${String(error)}`);
          }
        }
        const [readTransport] = await loop.runUntilComplete(loop.connectReadPipe(() => new Reader(), readFd));
        const [writeTransport] = await loop.runUntilComplete(loop.connectWritePipe(() => new Writer(), writeFd));
        expect(readTransport.getExtraInfo('pipe')).toBe(readFd);
        expect(writeTransport.getExtraInfo('pipe')).toBe(writeFd);
        expect(readTransport.getExtraInfo('socket', 'none')).toBe('none');
        // More than a pipe holds (64 KiB on Linux): disposal has to wait for the reader.
        const payload = Buffer.alloc(512 * 1024, 7);
        writeTransport.write(payload);
        expect(writeTransport.getWriteBufferSize()).toBeGreaterThan(0);
        await loop.runUntilComplete(async () => {
          await (writeTransport as typeof writeTransport & AsyncDisposable)[Symbol.asyncDispose]();
        });
        expect(events).toContain('write lost:null');
        await loop.runUntilComplete(async () => {
          for (let i = 0; i < 200 && !events.includes('read lost'); i++) await sleep(0.01);
          await (readTransport as typeof readTransport & AsyncDisposable)[Symbol.asyncDispose]();
        });
        expect(Buffer.concat(received).equals(payload)).toBe(true);
        expect(events).toContain('read lost');
      });

      test('a write to a pipe whose reader is already closed ends the transport with connectionLost(EPIPE)', async ({ loop }) => {
        const [readFd, writeFd] = sys.pipe();
        const lost: unknown[] = [];
        class Writer extends Protocol {
          override connectionLost(error: unknown): void {
            lost.push(error);
          }
        }
        const [transport] = await loop.runUntilComplete(loop.connectWritePipe(() => new Writer(), writeFd));
        sys.close(readFd);
        // Before the loop sees the reader go: the write itself meets EPIPE.
        transport.write(Buffer.from('nobody reads this'));
        await loop.runUntilComplete(async () => {
          for (let i = 0; i < 200 && lost.length === 0; i++) await sleep(0.01);
        });
        expect(lost).toHaveLength(1);
        expect((lost[0] as { code?: string } | null)?.code).toBe('EPIPE');
        expect(transport.isClosing()).toBe(true);
      });

      test('a write pipe whose reader never reads pauses the protocol; a closed reader ends it', async ({ loop }) => {
        const [readFd, writeFd] = sys.pipe();
        const events: string[] = [];
        class Writer extends Protocol {
          override pauseWriting(): void {
            events.push('pause');
          }
          override connectionLost(error: unknown): void {
            events.push(`lost:${(error as { code?: string } | null)?.code ?? 'null'}`);
          }
        }
        const [transport] = await loop.runUntilComplete(loop.connectWritePipe(() => new Writer(), writeFd));
        transport.setWriteBufferLimits(16 * 1024);
        const chunk = Buffer.alloc(64 * 1024);
        for (let i = 0; i < 4; i++) transport.write(chunk);
        expect(events).toEqual(['pause']);
        expect(transport.getWriteBufferSize()).toBeGreaterThan(0);
        sys.close(readFd);
        await loop.runUntilComplete(async () => {
          for (let i = 0; i < 100 && events.length < 2; i++) await sleep(0.01);
        });
        expect(events[1]).toBe('lost:EPIPE');
      });

      posixTest('no PTYs (sys.openpty)', 'connectReadPipe reads a real PTY: a child writes to the slave, EOF once every slave fd is closed', async ({ loop }) => {
        const [master, slave] = sys.openpty();
        const received: Buffer[] = [];
        const events: string[] = [];
        class Reader extends Protocol {
          override dataReceived(data: Uint8Array): void {
            received.push(Buffer.from(data));
          }
          override eofReceived(): void {
            events.push('eof');
          }
          override connectionLost(error: unknown): void {
            events.push(`lost:${String(error)}`);
          }
        }
        await loop.runUntilComplete(loop.connectReadPipe(() => new Reader(), master));
        const [transport, protocol] = await loop.runUntilComplete(
          loop.subprocessExec(() => new Collecting(), node, ['-e', 'process.stdout.write("via a pty")'], { stdin: DEVNULL, stdout: slave, stderr: DEVNULL }),
        );
        sys.close(slave);
        await loop.runUntilComplete(protocol.done);
        await loop.runUntilComplete(async () => {
          for (let i = 0; i < 200 && !events.includes('lost:null'); i++) await sleep(0.01);
        });
        transport.close();
        expect(Buffer.concat(received).toString()).toBe('via a pty');
        expect(events).toEqual(['eof', 'lost:null']);
      });

      posixTest('no mkfifo', 'connectReadPipe on a FIFO and connectWritePipe on a socket', async ({ loop }) => {
        const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'evloop-fifo-'));
        const fifo = path.join(directory, 'fifo');
        const made = spawnSync('mkfifo', [fifo]);
        try {
          if (made.status !== 0) throw new Error(`mkfifo failed: ${String(made.stderr)}`);
          // A non-blocking open for reading succeeds before any writer exists.
          const readFd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
          const writeFd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
          const received: Buffer[] = [];
          let lost = false;
          class Reader extends Protocol {
            override dataReceived(data: Uint8Array): void {
              received.push(Buffer.from(data));
            }
            override connectionLost(): void {
              lost = true;
            }
          }
          await loop.runUntilComplete(loop.connectReadPipe(() => new Reader(), readFd));
          const [a, b] = sys.socketpair(undefined, undefined, undefined, { blocking: false });
          const socketReceived: Buffer[] = [];
          class SocketReader extends Protocol {
            override dataReceived(data: Uint8Array): void {
              socketReceived.push(Buffer.from(data));
            }
          }
          const [socketWrite] = await loop.runUntilComplete(loop.connectWritePipe(() => new Protocol(), a));
          const [socketRead] = await loop.runUntilComplete(loop.connectReadPipe(() => new SocketReader(), b));
          fs.writeSync(writeFd, 'through a fifo');
          fs.closeSync(writeFd);
          socketWrite.write(Buffer.from('through a socket'));
          await loop.runUntilComplete(async () => {
            for (let i = 0; i < 200 && (!lost || socketReceived.length === 0); i++) await sleep(0.01);
          });
          socketWrite.close();
          socketRead.close();
          await loop.runUntilComplete(sleep(0.01));
          expect(Buffer.concat(received).toString()).toBe('through a fifo');
          expect(lost).toBe(true);
          expect(Buffer.concat(socketReceived).toString()).toBe('through a socket');
        } finally {
          fs.rmSync(directory, { recursive: true, force: true });
        }
      });

      posixTest("fs.openSync gives a CRT fd, not the HANDLE a Windows pipe transport takes", 'a regular file is refused', async ({ loop }) => {
        const file = path.join(os.tmpdir(), `evloop-pipe-${process.pid}-${Date.now()}`);
        fs.writeFileSync(file, 'x');
        const fd = fs.openSync(file, 'r');
        try {
          expect(() => loop.connectReadPipe(() => new Protocol(), fd)).toThrow(/pipes, sockets and character devices/);
        } finally {
          fs.closeSync(fd);
          fs.unlinkSync(file);
        }
      });
    });
  });
}

export type { BaseEventLoop };
