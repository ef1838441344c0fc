import { runStreamsConformance } from '@evloop/conformance';
import { PollSelector } from '@evloop/selector-poll';

runStreamsConformance({
  name: 'poll',
  createSelector: () => new PollSelector(),
});
