import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const app = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../streams-micro.mjs');

// CPU figures never decide pass or fail: this checks that both handlers run
// every round trip to the end and report a figure, and that a bad mode is refused.
it('streams-micro runs the async-function and the generator handler to the end', () => {
  for (const mode of ['async', 'gen']) {
    const result = spawnSync(process.execPath, [app, mode], { encoding: 'utf8', timeout: 120_000 });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.mode).toBe(mode);
    expect(report.cpuUsPerRoundTrip).toBeGreaterThan(0);
  }
  const bad = spawnSync(process.execPath, [app, 'nope'], { encoding: 'utf8', timeout: 60_000 });
  expect(bad.status).toBe(2);
  expect(bad.stderr).toContain('usage: streams-micro.mjs');
}, 150_000);
