import { defineConfig } from 'tsup';
import { packageOptions } from '../../tsup.base';

// stripInternal: members marked `@internal` (the loop's and transports'
// working parts) stay out of the published .d.ts files.
export default defineConfig(packageOptions({ dts: { compilerOptions: { paths: {}, stripInternal: true } } }));
