import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const app = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bench.mjs');
const ROW_IDS = ['callsoon-batch', 'callsoon-chain', 'timers-1s', 'timers-100ms', 'tasks-gen', 'tasks-async'];

// Timing never decides pass or fail here: this only checks that every
// scenario still runs on every side, so the benchmark cannot silently rot.
it('--quick --json measures every row on evloop and Node, and Python where installed', () => {
  const result = spawnSync(process.execPath, [app, '--quick', '--json'], { encoding: 'utf8', timeout: 120_000 });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const report = JSON.parse(result.stdout);
  expect(report.rows.map((row: { id: string }) => row.id)).toEqual(ROW_IDS);
  for (const row of report.rows) {
    for (const impl of ['evloop', 'node']) {
      expect(row.cells[impl].status, `${row.id} ${impl}`).toBe('ok');
      expect(row.cells[impl].cpuMs).toBeGreaterThan(0);
    }
    for (const impl of ['asyncio', 'uvloop']) expect(['ok', 'not installed']).toContain(row.cells[impl].status);
  }
}, 150_000);

it('--quick prints the table with every row', () => {
  const result = spawnSync(process.execPath, [app, '--quick', '--only', 'callsoon-batch,tasks-gen'], { encoding: 'utf8', timeout: 120_000 });
  expect(result.status).toBe(0);
  expect(result.stdout).toContain('| row | evloop | Node | Node/evloop | asyncio | asyncio/evloop | uvloop | uvloop/evloop |');
  expect(result.stdout).toMatch(/^\| callsoon-batch \| \d+ \/ \d+ \|/m);
  expect(result.stdout).toMatch(/^\| tasks-gen \| \d+ \/ \d+ \|/m);
}, 150_000);

it('--no-forced-gc runs every side without the full GC before each run, and says so', () => {
  const result = spawnSync(process.execPath, [app, '--quick', '--json', '--no-forced-gc', '--only', 'timers-100ms'], { encoding: 'utf8', timeout: 120_000 });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const report = JSON.parse(result.stdout);
  expect(report.environment.forcedGc).toBe(false);
  for (const impl of ['evloop', 'node', 'asyncio', 'uvloop']) {
    const cell = report.rows[0].cells[impl];
    if (cell.status === 'not installed') continue;
    expect(cell.status, impl).toBe('ok');
    expect(cell.forcedGc, impl).toBe(false);
  }
}, 150_000);

it('collects before each run by default', () => {
  const result = spawnSync(process.execPath, [app, '--quick', '--json', '--only', 'callsoon-chain'], { encoding: 'utf8', timeout: 120_000 });
  expect(result.status).toBe(0);
  const report = JSON.parse(result.stdout);
  expect(report.environment.forcedGc).toBe(true);
  for (const impl of ['evloop', 'node', 'asyncio', 'uvloop']) {
    const cell = report.rows[0].cells[impl];
    if (cell.status !== 'not installed') expect(cell.forcedGc, impl).toBe(true);
  }
}, 150_000);

it('refuses an unknown row', () => {
  const result = spawnSync(process.execPath, [app, '--only', 'nope'], { encoding: 'utf8', timeout: 15_000 });
  expect(result.status).toBe(2);
  expect(result.stderr).toContain('unknown row');
});
