import { runTlsConformance } from '@evloop/conformance';
import { PollSelector } from '@evloop/selector-poll';

runTlsConformance({
  name: 'poll',
  createSelector: () => new PollSelector(),
});
