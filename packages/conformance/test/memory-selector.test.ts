// core-policy's pure-TypeScript MemorySelector, over its memory pipes and
// socket pairs, passes the selector suite every native backend passes: it
// is what core-policy's own tests run their loops on, with no native build.
import { MemorySelector, memoryPipe, memorySocketPair } from '@evloop/core-policy';
import { runSelectorConformance } from '../src/index.js';

runSelectorConformance({
  name: 'memory',
  create: () => new MemorySelector(),
  files: {
    pipe: memoryPipe,
    socketPair: memorySocketPair,
    why: 'memory files exist only in the process that made them',
  },
});
