import { runServicesConformance } from '@evloop/conformance';
import { PollSelector } from '@evloop/selector-poll';

runServicesConformance({ name: 'poll', createSelector: () => new PollSelector() });
