import { runStreamsConformance } from '@evloop/conformance';
import { EpollSelector } from '@evloop/selector-epoll';

runStreamsConformance({
  name: 'epoll',
  createSelector: () => new EpollSelector(),
});
