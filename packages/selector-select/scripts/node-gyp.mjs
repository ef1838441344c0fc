// Runs node-gyp with the given arguments. Passes --nodedir=<node prefix> when
// this Node's own headers are installed there (distribution packages ship
// them), so node-gyp does not try to download headers; otherwise node-gyp
// keeps its usual behaviour.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
const prefix = dirname(dirname(process.execPath));
const args = process.argv.slice(2);
if (existsSync(join(prefix, 'include', 'node', 'node_api.h')) && !args.some((arg) => arg.startsWith('--nodedir'))) {
  args.push(`--nodedir=${prefix}`);
}
const result = spawnSync(process.execPath, [nodeGyp, ...args], { stdio: 'inherit' });
process.exit(result.status ?? 1);
