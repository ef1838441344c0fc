import { runServicesConformance } from '@evloop/conformance';
import { EpollSelector } from '@evloop/selector-epoll';

runServicesConformance({ name: 'epoll', createSelector: () => new EpollSelector() });
