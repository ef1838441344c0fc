import { runNetworkConformance } from '@evloop/conformance';
import { EpollSelector } from '@evloop/selector-epoll';

runNetworkConformance({
  name: 'epoll',
  createSelector: () => new EpollSelector(),
});
