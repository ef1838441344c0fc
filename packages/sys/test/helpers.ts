import { readdirSync } from 'node:fs';
import { afterEach, beforeEach, expect } from 'vitest';

/** How many fds this process has open (Linux /proc, macOS /dev/fd). */
export function openFdCount(): number {
  const dir = process.platform === 'linux' ? '/proc/self/fd' : '/dev/fd';
  return readdirSync(dir).length;
}

/** Assert that every test closes the fds it opened. */
export function checkFdLeaks(): void {
  let before = 0;
  beforeEach(() => {
    before = openFdCount();
  });
  afterEach(() => {
    expect(openFdCount(), 'fds leaked by this test').toBe(before);
  });
}

/** Run `body`, closing `closers` afterwards whatever happens. */
export function using<T>(closers: Array<{ close(): void } | (() => void)>, body: () => T): T {
  try {
    return body();
  } finally {
    for (const closer of closers.reverse()) {
      try {
        if (typeof closer === 'function') closer();
        else closer.close();
      } catch {
        // best effort
      }
    }
  }
}
