import { runTlsConformance } from '@evloop/conformance';
import { SelectSelector } from '@evloop/selector-select';

runTlsConformance({
  name: 'select',
  createSelector: () => new SelectSelector(),
});
