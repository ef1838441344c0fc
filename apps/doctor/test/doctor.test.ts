import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const app = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../doctor.mjs');

function doctor(args: string[], env: Record<string, string> = {}) {
  const environment: Record<string, string | undefined> = { ...process.env, ...env };
  if (!('EVLOOP_BACKEND' in env)) delete environment.EVLOOP_BACKEND;
  // pnpm's shims point NODE_PATH at every hoisted workspace package (uring
  // among them); the doctor sees what its package.json installs.
  delete environment.NODE_PATH;
  return spawnSync(process.execPath, [app, ...args], { encoding: 'utf8', timeout: 15_000, env: environment });
}

it('lists every backend and the one the default policy picks', () => {
  const result = doctor(['--json']);
  expect(result.stderr).toBe('');
  const report = JSON.parse(result.stdout);
  expect(report.backends.map((backend: { name: string }) => backend.name).sort()).toEqual(['epoll', 'iocp', 'kqueue', 'poll', 'select', 'uring']);
  if (process.platform === 'linux') {
    expect(report.chosen).toBe('epoll');
    const kqueue = report.backends.find((backend: { name: string }) => backend.name === 'kqueue');
    expect(kqueue.installed).toBe(true);
    expect(kqueue.available).toBe(false);
    expect(kqueue.reason.length).toBeGreaterThan(0);
  }
  expect(result.status).toBe(0);
});

it('names the runtime: Node here (scripts/runtimes checks Deno and Bun)', () => {
  const report = JSON.parse(doctor(['--json']).stdout);
  expect(report.runtime).toEqual({ name: 'node', version: process.version });
  expect(doctor([]).stdout).toContain(`evloop doctor: ${process.platform}/${process.arch}, Node ${process.version}\n`);
});

it('says which TLS path connections take, and why not native (EVLOOP_TLS)', () => {
  const report = JSON.parse(doctor(['--json']).stdout);
  if (process.platform === 'linux') expect(report.tls).toEqual({ engine: 'native', reason: null });
  const forced = JSON.parse(doctor(['--json'], { EVLOOP_TLS: 'js' }).stdout);
  expect(forced.tls.engine).toBe('js');
  expect(forced.tls.reason).toMatch(/asked for/);
  expect(doctor([], { EVLOOP_TLS: 'js' }).stdout).toMatch(/^TLS: js \(asked for/m);
});

it('honours EVLOOP_BACKEND and prints a table', () => {
  const result = doctor([], { EVLOOP_BACKEND: 'poll' });
  expect(result.stdout).toContain('default policy picks: poll');
  expect(result.stdout).toMatch(/backend\s+kind\s+rank\s+installed\s+usable\s+notes/);
});

it('says the preference order when nothing is forced', () => {
  const result = doctor([]);
  if (process.platform === 'linux') expect(result.stdout).toContain('preference on linux: uring > epoll > poll > select');
  if (process.platform === 'win32') expect(result.stdout).toContain('preference on win32: iocp > select');
  expect(result.stdout).toMatch(/default policy picks: \w+/);
});

it('explains when the forced backend cannot be used, and exits 1', () => {
  const result = doctor([], { EVLOOP_BACKEND: 'iocp' });
  expect(result.status).toBe(1);
  expect(result.stdout).toContain('default policy cannot run here');
});

it('--tasks <pid> prints the task tree of a process that opted in, and explains when it did not', async () => {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    import { enableTaskDump, getRunningLoop, run, sleep } from '@evloop/core-policy';
    enableTaskDump();
    await run(async () => {
      getRunningLoop().createTask(() => sleep(60), { name: 'background-sleeper' });
      console.log('ready');
      await sleep(30);
    });
  `], { cwd: path.dirname(app), stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`the child exited early (${code})`)));
    });
    const { spawn: spawnAsync } = await import('node:child_process');
    const output = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const run = spawnAsync(process.execPath, [app, '--tasks', String(child.pid)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      run.stdout.on('data', (chunk) => (stdout += chunk));
      run.stderr.on('data', (chunk) => (stderr += chunk));
      run.on('close', (status) => resolve({ status, stdout, stderr }));
    });
    expect(output.stderr).toBe('');
    expect(output.stdout).toMatch(/^<\w+EventLoop running=true/);
    expect(output.stdout).toMatch(/\n {2}background-sleeper \[pending\] awaiting <\w+ pending>\n/);
    expect(output.status).toBe(0);
  } finally {
    child.kill('SIGTERM');
  }
  const bad = doctor(['--tasks', 'abc']);
  expect(bad.stderr).toMatch(/--tasks needs the pid/);
  expect(bad.status).toBe(2);
});
