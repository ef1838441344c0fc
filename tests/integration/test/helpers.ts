import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EpollSelector } from '@evloop/selector-epoll';
import { PollSelector } from '@evloop/selector-poll';
import type { BaseSelector } from '@evloop/interface';

/** The workspace's packages folder (the built packages the installed-app tests link). */
export const packagesDirectory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../packages');

/** The best real selector for in-process tests on this platform. */
export function testSelector(): BaseSelector {
  return process.platform === 'linux' ? new EpollSelector() : new PollSelector();
}
