import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const app = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../scaling.mjs');

// Timing never decides pass or fail: this checks that every backend still
// runs the scaling scenario, with idle sockets registered, and reports it.
it('scaling --quick --json measures every backend beside idle sockets, and their throughput', () => {
  const result = spawnSync(process.execPath, [app, '--quick', '--json'], { encoding: 'utf8', timeout: 60_000 });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const report = JSON.parse(result.stdout);
  expect(report.machine.cpus).toBeGreaterThan(0);
  const uring = report.results.find((cell: { backend: string }) => cell.backend === 'uring');
  // io_uring may be blocked (seccomp, kernel.io_uring_disabled): then it must say why, never fail.
  if (uring.status !== 'ok') expect({ status: uring.status, reason: typeof uring.reason }).toEqual({ status: 'unusable', reason: 'string' });
  const expected = [...(process.platform === 'linux' ? ['epoll'] : []), 'poll', 'select', ...(uring.status === 'ok' ? ['uring'] : [])];
  for (const backend of expected) {
    for (const idle of [10, 100]) {
      const entry = report.results.find((cell: { backend: string; idle: number }) => cell.backend === backend && cell.idle === idle);
      expect(entry?.status, `${backend} at ${idle}`).toBe('ok');
      expect(entry.idleRegistered).toBe(idle);
      expect(entry.runs).toHaveLength(3);
      expect(entry.roundTripsPerSecond).toBeGreaterThan(0);
    }
    const throughput = report.throughput.find((cell: { backend: string }) => cell.backend === backend);
    expect(throughput?.status, `${backend} throughput`).toBe('ok');
    expect(throughput.megabytesPerSecond).toBeGreaterThan(0);
  }
}, 90_000);

it('scaling prints a table, and skips sizes above the soft fd limit instead of raising it', () => {
  const result = spawnSync('/bin/sh', ['-c', `ulimit -n 256 && exec "${process.execPath}" "${app}" --quick --scaling-only --backends poll --sizes 10,1000`], { encoding: 'utf8', timeout: 60_000 });
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/^\| 10 \| \d+ \| [\d.]+ \(1\.00×\) \|$/m);
  expect(result.stdout).toMatch(/^\| 1000 \| skipped \| - \|$/m);
  expect(result.stdout).toContain('the soft limit is 256 (not raised)');
}, 90_000);

it('scaling refuses an unknown backend', () => {
  const result = spawnSync(process.execPath, [app, '--backends', 'nope'], { encoding: 'utf8', timeout: 15_000 });
  expect(result.status).toBe(2);
  expect(result.stderr).toContain('unknown backend');
});
