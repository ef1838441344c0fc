import { runTlsConformance } from '@evloop/conformance';
import { EpollSelector } from '@evloop/selector-epoll';

runTlsConformance({
  name: 'epoll',
  createSelector: () => new EpollSelector(),
});
