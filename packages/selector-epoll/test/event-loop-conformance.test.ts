import { runEventLoopConformance } from '@evloop/conformance';
import { EpollSelector } from '@evloop/selector-epoll';

runEventLoopConformance({
  name: 'epoll',
  packageName: '@evloop/selector-epoll',
  createSelector: () => new EpollSelector(),
  features: { keepsClosedFilesRegistered: true },
});
