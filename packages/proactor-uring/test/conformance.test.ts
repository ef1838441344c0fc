import { runProactorConformance } from '@evloop/conformance';
import { it } from 'vitest';
import { backend, UringProactor } from '../src/index.js';

const availability = backend.available();
if (availability.ok) {
  // Both ring set-ups the kernel may give: completions deferred to the
  // loop's own io_uring_enter (DEFER_TASKRUN, 6.1+) and the older model.
  runProactorConformance({ name: 'uring', create: () => new UringProactor() });
  runProactorConformance({ name: 'uring', create: () => new UringProactor({ deferTaskrun: false }) });
} else {
  it.skip(`proactor conformance: uring is not usable on this machine: ${availability.reason}`, () => {});
}
