// Builds the addon without fetching Node headers when this Node already ships
// them, and skips the build where io_uring cannot exist.
//
//   node scripts/native.mjs build    node-gyp rebuild (the native:build script)
//   node scripts/native.mjs install  node-gyp-build, on Linux only
//
// On other platforms the package installs without a compiler; load-native
// finds no addon and `backend.available()` says why.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const mode = process.argv[2];

const environment = { ...process.env };
const nodePrefix = resolve(dirname(process.execPath), '..');
if (!environment.npm_config_nodedir && existsSync(join(nodePrefix, 'include', 'node', 'node_api.h'))) {
  environment.npm_config_nodedir = nodePrefix;
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: packageRoot, env: environment, stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.error) throw result.error;
  process.exit(result.status ?? 1);
}

if (mode === 'build') {
  run('node-gyp', ['rebuild']);
} else if (mode === 'install') {
  if (process.platform !== 'linux') {
    console.log(`@evloop/proactor-uring: io_uring does not exist on ${process.platform}; skipping the native build.`);
    process.exit(0);
  }
  run(process.execPath, [require.resolve('node-gyp-build/bin.js')]);
} else {
  console.error('usage: node scripts/native.mjs build|install');
  process.exit(2);
}
