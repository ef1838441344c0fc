// Test helpers for the two helper-thread backends. The same in
// @evloop/selector-poll and @evloop/selector-select (shared-copies.test.ts
// checks it); it only uses the package's own `backend` and `loadNative`.
import { existsSync, readdirSync } from 'node:fs';
import type { BaseSelector, NativeSelectorBinding, SelectorKey } from '@evloop/interface';
import * as sys from '@evloop/sys';
import { afterEach, beforeEach, expect } from 'vitest';
import { backend } from '../src/index.js';
import { loadNative } from '../src/load-native.js';

const fdDirectory = existsSync('/proc/self/fd') ? '/proc/self/fd' : '/dev/fd';

export function openFdCount(): number {
  return readdirSync(fdDirectory).length;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function waitUntil(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

const cleanups: Array<() => void> = [];
const closedFds = new Set<number>();

/**
 * Installs the per-test teardown: closes what the test opened (selectors,
 * bindings, pipes, in reverse order) and checks that no fd leaked.
 */
export function useLeakCheck(): void {
  let fdsBefore = 0;
  beforeEach(() => {
    closedFds.clear();
    fdsBefore = openFdCount();
  });
  afterEach(() => {
    for (const cleanup of cleanups.splice(0).reverse()) cleanup();
    expect(openFdCount()).toBe(fdsBefore);
  });
}

/** Runs `cleanup` in the test's teardown. */
export function defer(cleanup: () => void): void {
  cleanups.push(cleanup);
}

export function createSelector(): BaseSelector {
  const selector = backend.createSelector!();
  defer(() => selector.close());
  return selector;
}

/** The raw native binding, below the TypeScript checks. */
export function createBinding(): NativeSelectorBinding {
  const native = loadNative();
  if (native.unsupportedReason !== undefined) throw new Error(native.unsupportedReason);
  const binding = new native.Selector();
  defer(() => binding.close());
  return binding;
}

/** A pipe closed in the teardown unless the test closed it with `closeFd`. */
export function pipe(): [number, number] {
  const ends = sys.pipe();
  for (const fd of ends) defer(() => closeFd(fd));
  return ends;
}

export function closeFd(fd: number): void {
  if (closedFds.has(fd)) return;
  closedFds.add(fd);
  sys.close(fd);
}

export function pairs(selected: Array<[SelectorKey, number]>): Array<[number, number]> {
  return selected.map(([key, events]) => [key.fd, events]);
}

export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error to be thrown');
}
