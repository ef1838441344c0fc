import { runChaosConformance } from '@evloop/conformance';
import { it } from 'vitest';
import { backend } from '../src/index.js';

// The chaos suite on a SelectorEventLoop over select(). Not on Windows: the
// suite drives subprocesses and pipes (which a selector loop on Windows does
// not have) and needs a POSIX shell for its RLIMIT_NOFILE children.
if (process.platform === 'win32') {
  it.skip('chaos: select on Windows is skipped (the suite needs subprocesses, pipes and a POSIX shell, which a Windows selector loop lacks)', () => {});
} else {
  runChaosConformance({ name: 'select', backend, backendPackage: '@evloop/selector-select' });
}
