import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const directory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'evloop-policy-swap-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Run one of the app's scripts as a child process (killed after 15 s), without an inherited EVLOOP_BACKEND unless given, as an installed app runs. */
function runApp(script: string, args: string[] = [], env: Record<string, string> = {}) {
  const environment: Record<string, string | undefined> = { ...process.env, ...env };
  if (!('EVLOOP_BACKEND' in env)) delete environment.EVLOOP_BACKEND;
  // pnpm's shims point NODE_PATH at every hoisted workspace package (uring
  // among them); the app has only the backends in its package.json.
  delete environment.NODE_PATH;
  return spawnSync(process.execPath, [path.join(directory, script), ...args], { encoding: 'utf8', timeout: 15_000, env: environment });
}

const usable = process.platform === 'linux' ? ['epoll', 'poll', 'select'] : process.platform === 'darwin' ? ['kqueue', 'poll', 'select'] : [];

it('my-policy: the subclass is installed, asked by getEventLoop() outside the loop only, and customises the loop', () => {
  const result = runApp('my-policy.mjs');
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  expect(result.stdout.trim().split('\n')).toEqual([
    'policy installed: MyEventLoopPolicy',
    expect.stringMatching(/^MyEventLoopPolicy\.getEventLoop\(\) call 1: a loop on the \w+ backend$/),
    expect.stringMatching(/^MyEventLoopPolicy\.getEventLoop\(\) call 2: a loop on the \w+ backend$/),
    'the same loop again: true',
    "inside a callback: the running loop is the policy's, policy asked 0 more times",
    expect.stringMatching(/^MyEventLoopPolicy's handler: Exception in callback .*: a callback failed$/),
    'done',
  ]);
});

it.each(usable)('choose-backend: --backend %s runs on it', (name) => {
  const result = runApp('choose-backend.mjs', ['--backend', name, '--count', '5']);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  expect(result.stdout).toContain(`backend: ${name} (chosen by --backend)\n`);
  expect(result.stdout).toMatch(new RegExp(`^5 echo round-trips on ${name} in [\\d.]+ ms$`, 'm'));
});

it('choose-backend: a config file, EVLOOP_BACKEND, and discovery when nothing is set', () => {
  const config = path.join(scratch, 'backend.json');
  writeFileSync(config, JSON.stringify({ backend: 'poll' }));
  const fromFile = runApp('choose-backend.mjs', ['--config', config]);
  expect(fromFile.status).toBe(0);
  expect(fromFile.stdout).toContain(`backend: poll (chosen by config file ${config})`);

  const fromEnvironment = runApp('choose-backend.mjs', [], { EVLOOP_BACKEND: 'select' });
  expect(fromEnvironment.status).toBe(0);
  expect(fromEnvironment.stdout).toContain('backend: select (chosen by EVLOOP_BACKEND)');

  const discovered = runApp('choose-backend.mjs');
  expect(discovered.status).toBe(0);
  if (usable.length > 0) expect(discovered.stdout).toContain(`backend: ${usable[0]} (chosen by discovery)`);
});

it('choose-backend: an unknown backend fails clearly, naming the known ones', () => {
  const result = runApp('choose-backend.mjs', ['--backend', 'nonesuch']);
  expect(result.status).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr).toContain('Unknown evloop backend "nonesuch"');
  expect(result.stderr).toContain('known backends: epoll, kqueue, poll, select');
});

it('choose-backend: an installed backend that cannot run here fails clearly, listing every candidate', () => {
  const foreign = process.platform === 'darwin' ? 'epoll' : 'kqueue';
  const result = runApp('choose-backend.mjs', ['--backend', foreign]);
  expect(result.status).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr).toContain(`The evloop backend "${foreign}" was asked for but cannot be used`);
  expect(result.stderr).toMatch(/Every backend on \w+:/);
});

it('choose-backend: bad flags and config files are usage errors', () => {
  expect(runApp('choose-backend.mjs', ['--bogus']).status).toBe(2);
  expect(runApp('choose-backend.mjs', ['--count', '0']).status).toBe(2);
  const broken = path.join(scratch, 'broken.json');
  writeFileSync(broken, '{ not json');
  const result = runApp('choose-backend.mjs', ['--config', broken]);
  expect(result.status).toBe(2);
  expect(result.stderr).toContain('usage');
});

it('every-backend: one echo line per usable backend, a reason for each skipped one', () => {
  const result = runApp('every-backend.mjs', ['--count', '20']);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const lines = result.stdout.trim().split('\n');
  expect(lines.map((line) => line.split(':')[0]).sort()).toEqual(['epoll', 'iocp', 'kqueue', 'poll', 'select', 'uring']);
  for (const name of usable) {
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${name}: 20 echo round-trips in [\\d.]+ ms \\(\\d+ per second\\)$`)));
  }
  for (const line of lines.filter((entry) => !usable.includes(entry.split(':')[0]))) {
    expect(line).toMatch(/^\w+: skipped \(.+\)$/);
  }
});
