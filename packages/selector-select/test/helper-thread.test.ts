import { runHelperThreadConformance } from '@evloop/conformance';
import { backend } from '../src/index.js';
import { loadNative } from '../src/load-native.js';

runHelperThreadConformance({ backend, loadNative, entryUrl: new URL('../dist/index.js', import.meta.url) });
