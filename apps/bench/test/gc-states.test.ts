import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { MAJOR_PER_SECOND, countCollections } from '../gc-states.mjs';

const app = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../gc-states.mjs');

interface Process {
  young: number;
  major: number;
  majorState: boolean;
  seconds: number;
  perSecond: number;
  roundTrips: number;
}

it('counts young and major collections in --trace-gc lines of Node 20 and Node 24', () => {
  const lines = [
    '[14668:0x340ec000]     1304 ms: Mark-Compact 8.4 (18.9) -> 8.3 (18.9) MB, pooled: 0 MB, 2.79 / 0.00 ms  (+ 0.0 ms in 1 steps) finalize incremental marking via task; GC in old space requested',
    '[14668:0x340ec000]     1638 ms: Scavenge 11.6 (18.9) -> 8.4 (18.9) MB, pooled: 0 MB, 0.31 / 0.00 ms  (average mu = 0.951, current mu = 0.951) task; ',
    '[4572:0x2381ccf0]       55 ms: Scavenge 6.3 (7.8) -> 6.0 (10.3) MB, 0.95 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure; ',
    '[4572:0x2381ccf0]       60 ms: Minor Mark-Sweep 6.3 (7.8) -> 6.0 (10.3) MB, 0.95 / 0.00 ms  allocation failure; ',
    'listening on 127.0.0.1:33661',
    '[4572:0x2381ccf0]      340 ms: [IncrementalMarking] Start marking',
  ];
  expect(countCollections(lines)).toEqual({ young: 3, major: 1 });
  expect(countCollections([])).toEqual({ young: 0, major: 0 });
});

// Counts, not timings: which state a process settles into depends on V8's
// version and is not asserted; this checks that every process was loaded,
// echoed correctly (the C client compares every byte) and counted.
it('--quick --json measures one process of each server and classifies it by its count', () => {
  const result = spawnSync(process.execPath, [app, '--quick', '--json', '--impl', 'evloop,node'], { encoding: 'utf8', timeout: 60_000 });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const report = JSON.parse(result.stdout);
  expect(report.v8).toBe(process.versions.v8);
  expect(report.implementations.map((entry: { impl: string }) => entry.impl)).toEqual(['evloop', 'node']);
  for (const { impl, processes } of report.implementations as Array<{ impl: string; processes: Process[] }>) {
    expect(processes, impl).toHaveLength(1);
    for (const entry of processes) {
      expect(Number.isInteger(entry.young) && entry.young >= 0, impl).toBe(true);
      expect(Number.isInteger(entry.major) && entry.major >= 0, impl).toBe(true);
      expect(entry.roundTrips, impl).toBeGreaterThan(0);
      expect(entry.seconds, impl).toBeGreaterThan(0);
      expect(entry.majorState, impl).toBe(entry.major / entry.seconds >= MAJOR_PER_SECOND);
    }
  }
}, 90_000);

it('refuses an unknown implementation and a process count below one', () => {
  const unknown = spawnSync(process.execPath, [app, '--impl', 'nope'], { encoding: 'utf8', timeout: 15_000 });
  expect(unknown.status).toBe(2);
  expect(unknown.stderr).toContain('unknown implementation "nope"');
  const zero = spawnSync(process.execPath, [app, '--processes', '0'], { encoding: 'utf8', timeout: 15_000 });
  expect(zero.status).toBe(2);
  expect(zero.stderr).toContain('--processes must be a positive integer');
});
