import { runEventLoopConformance } from '@evloop/conformance';
import { SelectSelector } from '@evloop/selector-select';

runEventLoopConformance({
  name: 'select',
  packageName: '@evloop/selector-select',
  createSelector: () => new SelectSelector(),
  // On Windows select() waits on sockets only: a regular file is refused (ENOTSOCK).
  features: { pollsRegularFiles: process.platform !== 'win32' },
});
