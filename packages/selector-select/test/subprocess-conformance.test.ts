import { runSubprocessConformance } from '@evloop/conformance';
import { SelectSelector } from '@evloop/selector-select';

runSubprocessConformance({ name: 'select', createSelector: () => new SelectSelector() });
