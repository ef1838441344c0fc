import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const app = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../idle-memory.mjs');

// Memory figures never decide pass or fail: this checks that every installed
// server accepts the connections, echoes on each, and gets a figure, and that
// a server whose tool is missing says so instead of failing.
it.skipIf(process.platform !== 'linux')('idle-memory --quick --json measures every installed server (Linux: reads /proc)', () => {
  const result = spawnSync(process.execPath, [app, '--quick', '--json'], { encoding: 'utf8', timeout: 120_000 });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const report = JSON.parse(result.stdout);
  expect(report.connections).toBe(200);
  expect(Object.keys(report.cells)).toEqual(['evloop', 'node', 'asyncio', 'uvloop']);
  for (const [impl, cell] of Object.entries(report.cells) as Array<[string, { status: string; samples?: unknown[]; bytesPerConnection?: number; anonBytesPerConnection?: number; error?: string }]>) {
    expect(['ok', 'not installed'], `${impl}: ${cell.error ?? ''}`).toContain(cell.status);
    if (cell.status === 'ok') {
      expect(cell.samples).toHaveLength(1);
      expect(typeof cell.bytesPerConnection).toBe('number');
      // The private part (RssAnon) is read beside the whole resident set.
      expect(typeof cell.anonBytesPerConnection).toBe('number');
    }
  }
  expect(report.cells.evloop.status).toBe('ok');
}, 150_000);

it.skipIf(process.platform !== 'linux')('idle-memory --idle takes a second reading after that many seconds, and refuses a bad value (Linux: reads /proc)', () => {
  const result = spawnSync(process.execPath, [app, '--quick', '--json', '--idle', '0.2', '--impl', 'evloop'], { encoding: 'utf8', timeout: 120_000 });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const report = JSON.parse(result.stdout);
  expect(report.idleSeconds).toBe(0.2);
  const cell = report.cells.evloop;
  expect(cell.status).toBe('ok');
  expect(typeof cell.idleBytesPerConnection).toBe('number');
  expect(typeof cell.idleAnonBytesPerConnection).toBe('number');
  expect(cell.samples[0].idleKiB).toBeGreaterThan(0);
  const bad = spawnSync(process.execPath, [app, '--idle', '0'], { encoding: 'utf8', timeout: 30_000 });
  expect(bad.status).toBe(2);
  expect(bad.stderr).toContain('--idle must be a number of seconds');
}, 150_000);
