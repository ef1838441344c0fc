import { runServicesConformance } from '@evloop/conformance';
import { SelectSelector } from '@evloop/selector-select';

runServicesConformance({ name: 'select', createSelector: () => new SelectSelector() });
