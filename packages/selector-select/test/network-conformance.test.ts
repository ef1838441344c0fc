import { runNetworkConformance } from '@evloop/conformance';
import { SelectSelector } from '@evloop/selector-select';

runNetworkConformance({
  name: 'select',
  createSelector: () => new SelectSelector(),
  features: { scalesBeyondFdSetsize: false },
});
