// Test kit for the backends whose idle wait runs on a helper thread (poll,
// select): fd and leak bookkeeping, bound to one backend package.
import { existsSync, readdirSync } from 'node:fs';
import type { BackendDescriptor, BaseSelector, NativeSelectorBinding, SelectorKey } from '@evloop/interface';
import * as sys from '@evloop/sys';
import { afterEach, beforeEach, expect } from 'vitest';

export interface HelperThreadBackend {
  backend: BackendDescriptor;
  /** The package's addon loader: `{ Selector }`, or `{ unsupportedReason }` where it cannot run. */
  loadNative: () => { Selector?: new () => NativeSelectorBinding; unsupportedReason?: string | undefined };
}

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

/** Helpers bound to one backend; `useLeakCheck()` installs the per-test teardown. */
export function helperThreadKit({ backend, loadNative }: HelperThreadBackend) {
  const cleanups: Array<() => void> = [];
  const closedFds = new Set<number>();

  /** Closes what the test opened (in reverse order) and checks that no fd leaked. */
  function useLeakCheck(): void {
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

  function defer(cleanup: () => void): void {
    cleanups.push(cleanup);
  }

  function createSelector(): BaseSelector {
    const selector = backend.createSelector!();
    defer(() => selector.close());
    return selector;
  }

  /** The raw native binding, below the TypeScript checks. */
  function createBinding(): NativeSelectorBinding {
    const native = loadNative();
    if (native.unsupportedReason !== undefined || native.Selector === undefined) throw new Error(native.unsupportedReason ?? 'no native selector');
    const binding = new native.Selector();
    defer(() => binding.close());
    return binding;
  }

  function closeFd(fd: number): void {
    if (closedFds.has(fd)) return;
    closedFds.add(fd);
    sys.close(fd);
  }

  /** A pipe closed in the teardown unless the test closed it with `closeFd`. */
  function pipe(): [number, number] {
    const ends = sys.pipe();
    for (const fd of ends) defer(() => closeFd(fd));
    return ends;
  }

  return { useLeakCheck, defer, createSelector, createBinding, closeFd, pipe, openFdCount, sleep, waitUntil, pairs, thrownBy };
}
