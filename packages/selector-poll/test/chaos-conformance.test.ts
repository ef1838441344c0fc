import { runChaosConformance } from '@evloop/conformance';
import { backend } from '@evloop/selector-poll';

runChaosConformance({ name: 'poll', backend, backendPackage: '@evloop/selector-poll' });
