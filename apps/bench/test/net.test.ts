import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const app = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../net.mjs');
const ECHO_ROWS = [...[1, 10, 100, 1000].flatMap((c) => [`echo-c${c}-64B`, `echo-c${c}-4KiB`]), 'echo-c100-64Bx16'];
const HTTP_ROWS = ['http-c10', 'http-c100', 'http-c1000'];
const IMPLEMENTATIONS = ['evloop', 'evloop-streams', 'evloop-uring', 'node', 'asyncio', 'uvloop', 'uvloop-streams', 'c', 'c-uring'];

interface Cell {
  status: string;
  missing?: string;
  error?: string;
  perSecond?: number;
}

// Timing never decides pass or fail: this checks that every row is there and
// that every server answers correctly (each server is checked before it is
// loaded, and the echo client compares every echo byte for byte). A row
// whose tool is missing (cc, wrk, python3-uvloop) must say so, not fail.
it('--quick --json has every row, and every installed server answers correctly', () => {
  const result = spawnSync(process.execPath, [app, '--quick', '--json'], { encoding: 'utf8', timeout: 150_000 });
  expect(result.stderr).toBe('');
  const report = JSON.parse(result.stdout);
  expect(report.implementations).toEqual(IMPLEMENTATIONS);
  expect(report.rows.map((row: { id: string }) => row.id)).toEqual([...ECHO_ROWS, ...HTTP_ROWS]);
  for (const row of report.rows) {
    for (const impl of IMPLEMENTATIONS) {
      const cell: Cell = row.cells[impl];
      expect(['ok', 'not installed'], `${row.id} ${impl}: ${cell.error ?? ''}`).toContain(cell.status);
      if (cell.status === 'ok') expect(cell.perSecond, `${row.id} ${impl}`).toBeGreaterThan(0);
      else expect(cell.missing, `${row.id} ${impl}`).toBeTruthy();
    }
    // evloop and Node need nothing but the load generator.
    const generator = row.cells.evloop.missing;
    if (generator === undefined) for (const impl of ['evloop', 'evloop-streams', 'node']) expect(row.cells[impl].status).toBe('ok');
  }
  expect(result.status).toBe(0);
}, 180_000);

it('runs the registered-buffer C server only when named, and it answers correctly', () => {
  const result = spawnSync(process.execPath, [app, '--quick', '--json', '--only', 'echo-c10-64B,http-c10', '--impl', 'c-uring-registered'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(result.stderr).toBe('');
  const report = JSON.parse(result.stdout);
  expect(report.implementations).toEqual(['c-uring-registered']);
  for (const row of report.rows) {
    const cell: Cell = row.cells['c-uring-registered'];
    expect(['ok', 'not installed'], `${row.id}: ${cell.error ?? ''}`).toContain(cell.status);
    if (cell.status === 'ok') expect(cell.perSecond, row.id).toBeGreaterThan(0);
  }
  expect(result.status).toBe(0);
}, 90_000);

it('refuses an unknown row', () => {
  const result = spawnSync(process.execPath, [app, '--only', 'nope'], { encoding: 'utf8', timeout: 15_000 });
  expect(result.status).toBe(2);
  expect(result.stderr).toContain('unknown row');
});
