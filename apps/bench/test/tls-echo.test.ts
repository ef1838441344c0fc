import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const app = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../tls-echo.mjs');

const opensslAvailable = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

// Timing never decides pass or fail: this only checks that every row of the
// TLS echo benchmark still runs, so it cannot silently rot.
it.skipIf(!opensslAvailable)('tls-echo --json runs every row (Python ones where installed)', () => {
  const result = spawnSync(process.execPath, [app, '--json', '--connections', '10', '--seconds', '0.3', '--runs', '1', '--quick'], { encoding: 'utf8', timeout: 120_000 });
  expect(result.status, result.stderr).toBe(0);
  const report = JSON.parse(result.stdout);
  expect(Object.keys(report.results)).toEqual(['evloop', 'evloop-consumes', 'evloop-js', 'evloop-uring', 'evloop-uring-consumes', 'node', 'node-duplex', 'uvloop', 'asyncio']);
  for (const id of ['evloop', 'evloop-consumes', 'evloop-js', 'node', 'node-duplex']) {
    expect(report.results[id].roundTripsPerSecond, id).toBeGreaterThan(0);
    expect(report.results[id].cpuMicrosecondsPerRoundTrip, id).toBeGreaterThan(0);
  }
  // evloop-uring is skipped, saying why, where io_uring is blocked.
  for (const id of ['evloop-uring', 'evloop-uring-consumes', 'uvloop', 'asyncio']) {
    const row = report.results[id];
    expect(row.skipped !== undefined || row.roundTripsPerSecond > 0, id).toBe(true);
  }
}, 150_000);
