import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const app = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const script = (name: string) => path.join(app, name);

const running: ChildProcess[] = [];

afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

interface StartedServer {
  child: ChildProcess;
  host: string;
  port: number;
  stderr: () => string;
  /** Send SIGTERM and wait for the exit status. */
  stop: () => Promise<number | null>;
}

/** Start a server script on an ephemeral loopback port and wait (bounded) for its "listening on" line. */
function startServerProcess(name: string): Promise<StartedServer> {
  const child = spawn(process.execPath, [script(name), '--host', '127.0.0.1', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not report its address in time; stderr: ${stderr}`)), 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before listening; stderr: ${stderr}`));
    });
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
      const match = /^listening on (\S+):(\d+)$/m.exec(stdout);
      if (match === null) return;
      clearTimeout(timer);
      resolve({
        child,
        host: match[1]!,
        port: Number(match[2]),
        stderr: () => stderr,
        stop: () => {
          child.kill('SIGTERM');
          return exited;
        },
      });
    });
  });
}

function runClient(name: string, port: number, count: number, size = 64) {
  return spawnSync(process.execPath, [script(name), '--host', '127.0.0.1', '--port', String(port), '--count', String(count), '--size', String(size)], {
    encoding: 'utf8',
    timeout: 15_000,
  });
}

describe.each([
  ['server-protocol.mjs', 'client-protocol.mjs'],
  ['server-streams.mjs', 'client-streams.mjs'],
  ['server-protocol.mjs', 'client-streams.mjs'],
  ['server-streams.mjs', 'client-protocol.mjs'],
])('%s with %s', (server, client) => {
  it('echoes every message over loopback, for two clients in turn, and stops on SIGTERM', async () => {
    const started = await startServerProcess(server);
    expect(started.host).toBe('127.0.0.1');
    expect(started.port).toBeGreaterThan(0);
    for (const [count, size] of [
      [200, 64],
      // Lines below the streams server's 64 KiB line limit, each more than one read.
      [10, 60_000],
    ] as const) {
      const result = runClient(client, started.port, count, size);
      expect(result.stderr).toBe('');
      expect(result.stdout.trim()).toBe(`${count} messages echoed`);
      expect(result.status).toBe(0);
    }
    expect(await started.stop()).toBe(0);
    expect(started.stderr()).toBe('');
  });
});

it('a client fails with status 1 when nothing listens', async () => {
  const started = await startServerProcess('server-streams.mjs');
  const port = started.port;
  expect(await started.stop()).toBe(0);
  for (const client of ['client-protocol.mjs', 'client-streams.mjs']) {
    const result = runClient(client, port, 1);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^echo failed: /);
  }
});

it('refuses bad options', () => {
  for (const [name, args] of [
    ['server-streams.mjs', ['--port', 'x']],
    ['client-protocol.mjs', ['--count', '3']],
    ['client-streams.mjs', ['--port', '1', '--size', '0']],
  ] as const) {
    const result = spawnSync(process.execPath, [script(name), ...args], { encoding: 'utf8', timeout: 15_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('usage');
  }
});
