import { runSubprocessConformance } from '@evloop/conformance';
import { EpollSelector } from '@evloop/selector-epoll';

runSubprocessConformance({ name: 'epoll', createSelector: () => new EpollSelector() });
