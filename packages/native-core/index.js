// Where the headers are, for a build script written as an ES module. See
// index.cjs for binding.gyp.
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const include = join(dirname(fileURLToPath(import.meta.url)), 'include');

/** The include folder, relative to the working directory (as node-addon-api's). */
export const include_dir = relative('.', include) || '.';
/** The include folder, absolute. */
export const include_path = include;

export default { include_dir, include_path };
