import { runNetworkConformance } from '@evloop/conformance';
import { PollSelector } from '@evloop/selector-poll';

runNetworkConformance({
  name: 'poll',
  createSelector: () => new PollSelector(),
});
