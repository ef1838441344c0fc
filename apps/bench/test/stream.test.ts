import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const app = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../stream.mjs');

// Timing never decides pass or fail: this checks that every side of the bulk
// stream comparison runs and reports CPU per MB, or says why it cannot run.
it('stream --quick --json measures evloop on epoll and uring, Node net, asyncio and uvloop', () => {
  const result = spawnSync(process.execPath, [app, '--quick', '--json', '--sizes', '16384'], { encoding: 'utf8', timeout: 90_000 });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const report = JSON.parse(result.stdout);
  expect(report.impls).toEqual(['epoll', 'uring', 'node', 'asyncio', 'uvloop']);
  expect(report.rounds).toHaveLength(1);
  const cells = report.rounds[0]['16384'];
  // io_uring may be blocked, Python or uvloop missing: then the cell must say why, never fail.
  const optional = new Set(['uring', 'asyncio', 'uvloop', ...(process.platform === 'linux' ? [] : ['epoll'])]);
  for (const impl of report.impls) {
    const cell = cells[impl];
    if (optional.has(impl) && cell.status !== 'ok') {
      expect({ status: cell.status, reason: typeof cell.reason }).toEqual({ status: 'unusable', reason: 'string' });
      continue;
    }
    expect(cell.status, impl).toBe('ok');
    expect(cell.megabytesPerSecond).toBeGreaterThan(0);
    expect(cell.cpuMillisecondsPerMegabyte).toBeGreaterThan(0);
  }
}, 120_000);

it('stream refuses an unknown implementation and a bad count', () => {
  const unknown = spawnSync(process.execPath, [app, '--impl', 'epoll,libuv'], { encoding: 'utf8', timeout: 30_000 });
  expect(unknown.status).toBe(2);
  expect(unknown.stderr).toContain('unknown implementation "libuv"');
  const rounds = spawnSync(process.execPath, [app, '--rounds', '0'], { encoding: 'utf8', timeout: 30_000 });
  expect(rounds.status).toBe(2);
  expect(rounds.stderr).toContain('--rounds must be a positive integer');
});
