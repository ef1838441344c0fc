import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const app = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../sendfile.mjs');

// Timing never decides pass or fail: this checks that every implementation
// runs and that the receiver counted every byte of every file (the bench
// throws otherwise).
it('--quick --json reports every implementation, each having sent the whole file', () => {
  const result = spawnSync(process.execPath, [app, '--quick', '--json'], { encoding: 'utf8', timeout: 120_000 });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const report = JSON.parse(result.stdout);
  expect(report.fileSize).toBe(16 * 1024 * 1024);
  const expected = ['evloop-native', 'evloop-uring', 'evloop-copy', 'node-pipe', 'asyncio'];
  // io_uring (seccomp, old kernels) or Python may be missing: then the report says so.
  expect(Object.keys(report.results)).toEqual(expected.filter((id) => !report.notInstalled.includes(id)));
  expect(report.notInstalled.every((id: string) => id === 'evloop-uring' || id === 'asyncio')).toBe(true);
  for (const row of Object.values(report.results) as Array<{ cpuUsPerMiB: number; mibPerSecond: number }>) {
    expect(row.cpuUsPerMiB).toBeGreaterThan(0);
    expect(row.mibPerSecond).toBeGreaterThan(0);
  }
}, 130_000);
