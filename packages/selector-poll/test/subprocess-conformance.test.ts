import { runSubprocessConformance } from '@evloop/conformance';
import { PollSelector } from '@evloop/selector-poll';

runSubprocessConformance({ name: 'poll', createSelector: () => new PollSelector() });
