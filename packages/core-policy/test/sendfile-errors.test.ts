import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { constants as osConstants } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BrokenPipeError, ConnectionError, OSError, osErrorFromErrno } from '@evloop/interface';
import { SelectorEventLoop, type Future, type SocketLike } from '@evloop/core-policy';
import * as sys from '@evloop/sys';
import { testSelector } from './helpers.js';

/**
 * A loop whose native sendfile steps are scripted: each step either sends
 * some bytes or fails with an errno, so the failures a kernel gives only
 * on some platforms (ENOTCONN mid-transfer on macOS and the BSDs) are
 * tested everywhere.
 */
class ScriptedSendfileLoop extends SelectorEventLoop {
  readonly steps: Array<number | { errno: number }> = [];
  readonly asked: Array<[offset: number, count: number]> = [];

  override _hasNativeSendfile(): boolean {
    return true;
  }

  override _sendfileStep(_sock: SocketLike, _fd: number, offset: number, count: number): Future<number> | null {
    this.asked.push([offset, count]);
    const next = this.steps.shift();
    if (next === undefined) throw new Error('more sendfile steps than the test scripted');
    const step = this.createFuture<number>();
    if (typeof next === 'number') step.setResult(next);
    else step.setException(osErrorFromErrno(next.errno, 'sendfile'));
    return step;
  }
}

/** What sockSendfile checks of its socket, and nothing else: the steps are scripted. */
const streamSocket = { fileno: () => 1000, getBlocking: () => false, type: sys.SOCK_STREAM } as unknown as SocketLike;

describe('sockSendfile: errors of a native step', () => {
  let directory: string;
  let fd: number;
  let loop: ScriptedSendfileLoop;

  beforeEach(() => {
    directory = fs.mkdtempSync(path.join(os.tmpdir(), 'evloop-sendfile-'));
    const file = path.join(directory, 'data');
    fs.writeFileSync(file, Buffer.alloc(1000, 7));
    fd = fs.openSync(file, 'r');
    loop = new ScriptedSendfileLoop(testSelector());
  });

  afterEach(() => {
    loop.close();
    fs.closeSync(fd);
    fs.rmSync(directory, { recursive: true, force: true });
  });

  async function failureOf(work: Future<number>): Promise<unknown> {
    try {
      await work;
    } catch (error) {
      return error;
    }
    throw new Error('expected a failure');
  }

  it('ENOTCONN after some bytes went is a ConnectionError (asyncio normalizes it on every platform), with the OS error as its cause', async () => {
    loop.steps.push(300, { errno: osConstants.errno.ENOTCONN });
    const error = await loop.runUntilComplete(() => failureOf(loop.sockSendfile(streamSocket, fd)));
    expect(ConnectionError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'ENOTCONN', errno: osConstants.errno.ENOTCONN, syscall: 'sendfile', message: 'socket is not connected' });
    const cause = (error as { cause?: unknown }).cause;
    expect(OSError.isInstance(cause)).toBe(true);
    expect(ConnectionError.isInstance(cause)).toBe(false);
    expect(cause).toMatchObject({ code: 'ENOTCONN' });
    expect(loop.asked.map(([offset]) => offset)).toEqual([0, 300]);
  });

  it('ENOTCONN before any byte went stays the OS error: the socket was never connected', async () => {
    loop.steps.push({ errno: osConstants.errno.ENOTCONN });
    const error = await loop.runUntilComplete(() => failureOf(loop.sockSendfile(streamSocket, fd)));
    expect(OSError.isInstance(error)).toBe(true);
    expect(ConnectionError.isInstance(error)).toBe(false);
    expect(error).toMatchObject({ code: 'ENOTCONN', syscall: 'sendfile' });
  });

  it('a ConnectionError subclass mid-transfer (EPIPE) is passed on as it is', async () => {
    loop.steps.push(500, { errno: osConstants.errno.EPIPE });
    const error = await loop.runUntilComplete(() => failureOf(loop.sockSendfile(streamSocket, fd)));
    expect(BrokenPipeError.isInstance(error)).toBe(true);
    expect((error as { cause?: unknown }).cause).toBeUndefined();
  });

  it('other errors mid-transfer are passed on as they are', async () => {
    loop.steps.push(200, { errno: osConstants.errno.EIO });
    const error = await loop.runUntilComplete(() => failureOf(loop.sockSendfile(streamSocket, fd)));
    expect(OSError.isInstance(error)).toBe(true);
    expect(ConnectionError.isInstance(error)).toBe(false);
    expect(error).toMatchObject({ code: 'EIO' });
  });

  it('steps go on from where the last one stopped until the end of the file', async () => {
    loop.steps.push(300, 700, 0);
    const sent = await loop.runUntilComplete(() => loop.sockSendfile(streamSocket, fd));
    expect(sent).toBe(1000);
    expect(loop.asked.map(([offset]) => offset)).toEqual([0, 300, 1000]);
  });
});
