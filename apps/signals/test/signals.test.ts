import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const app = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../signals.mjs');

function runUntilSignal(signal: NodeJS.Signals): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [app], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sent = false;
    const guard = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      // One signal only: a second one, sent on a later chunk, could land after
      // the loop has closed and removed its handlers, and kill the process.
      if (!sent && stdout.includes('press Ctrl+C')) {
        sent = true;
        child.kill(signal);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code, exitSignal) => {
      clearTimeout(guard);
      resolve({ code, signal: exitSignal, stdout, stderr });
    });
  });
}

describe.skipIf(process.platform === 'win32')('apps/signals', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`exits cleanly on a real ${signal}`, async () => {
      const result = await runUntilSignal(signal);
      expect(result.stderr).toBe('');
      expect(result.stdout.split(`got signal ${signal}: exit`).length - 1).toBe(1);
      expect(result.code).toBe(0);
      expect(result.signal).toBe(null);
    });
  }
});
