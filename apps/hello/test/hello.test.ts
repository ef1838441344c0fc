import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const app = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../hello.mjs');

it('prints Hello World the asked number of times and exits by itself', () => {
  const result = spawnSync(process.execPath, [app, '--count', '3', '--interval', '0.05'], { encoding: 'utf8', timeout: 15_000 });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const lines = result.stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^evloop is running on the \w+ backend$/);
  expect(lines.slice(1)).toEqual(['Hello World', 'Hello World', 'Hello World']);
});

it('refuses a bad count', () => {
  const result = spawnSync(process.execPath, [app, '--count', 'zero'], { encoding: 'utf8', timeout: 15_000 });
  expect(result.status).toBe(2);
  expect(result.stderr).toContain('usage');
});
