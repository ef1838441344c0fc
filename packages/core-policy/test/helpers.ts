import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EpollSelector } from '@evloop/selector-epoll';
import { PollSelector } from '@evloop/selector-poll';
import type { BaseSelector } from '@evloop/interface';

export const packagesDirectory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The best selector for in-process tests on this platform. */
export function testSelector(): BaseSelector {
  return process.platform === 'linux' ? new EpollSelector() : new PollSelector();
}

/** The built entry of a workspace package (for child processes and workers). */
export function builtEntry(directory: string): string {
  return path.join(packagesDirectory, directory, 'dist', 'index.cjs');
}
