import { runChaosConformance } from '@evloop/conformance';
import { backend } from '@evloop/selector-epoll';

runChaosConformance({ name: 'epoll', backend, backendPackage: '@evloop/selector-epoll' });
