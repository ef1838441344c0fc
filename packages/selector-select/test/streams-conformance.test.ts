import { runStreamsConformance } from '@evloop/conformance';
import { SelectSelector } from '@evloop/selector-select';

runStreamsConformance({
  name: 'select',
  createSelector: () => new SelectSelector(),
});
