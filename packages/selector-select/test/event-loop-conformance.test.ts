import { runEventLoopConformance } from '@evloop/conformance';
import { SelectSelector } from '@evloop/selector-select';

runEventLoopConformance({
  name: 'select',
  packageName: '@evloop/selector-select',
  createSelector: () => new SelectSelector(),
  features: { pollsRegularFiles: true },
});
