import { readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

export const onWindows = process.platform === 'win32';

/**
 * `describe`, or on Windows `describe.skip` with the reason in its name: for
 * what Winsock has no equivalent of (pipes, Unix sockets, SCM_RIGHTS).
 */
export function describePosix(title: string, needs: string, body: () => void): void {
  if (onWindows) describe.skip(`${title} (skipped: needs ${needs}, which Windows has not)`, body);
  else describe(title, body);
}

/** `it`, or on Windows `it.skip` with the reason in its name (see describePosix). */
export function itPosix(title: string, needs: string, body: () => unknown): void {
  if (onWindows) it.skip(`${title} (skipped: needs ${needs}, which Windows has not)`, body);
  else it(title, body);
}

/**
 * How many fds this process has open (Linux /proc, macOS /dev/fd); null on
 * Windows, whose handle table Node cannot list (under Wine /dev/fd is the
 * host's), so the leak check below cannot run there.
 */
export function openFdCount(): number | null {
  if (onWindows) return null;
  const dir = process.platform === 'linux' ? '/proc/self/fd' : '/dev/fd';
  return readdirSync(dir).length;
}

/** Assert that every test closes the fds it opened. */
export function checkFdLeaks(): void {
  let before: number | null = 0;
  beforeEach(() => {
    before = openFdCount();
  });
  afterEach(() => {
    if (before !== null) expect(openFdCount(), 'fds leaked by this test').toBe(before);
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
