import { runEventLoopConformance } from '@evloop/conformance';
import { PollSelector } from '@evloop/selector-poll';

runEventLoopConformance({
  name: 'poll',
  packageName: '@evloop/selector-poll',
  createSelector: () => new PollSelector(),
  features: { pollsRegularFiles: true },
});
