// Builds the kqueue addon where kqueue exists, and does nothing elsewhere, so
// the package installs (and turbo's native:build passes) on Linux and Windows
// without a compiler; there load-native finds no addon and
// `backend.available()` says why.
//
//   node scripts/native.mjs build    node-gyp rebuild (the native:build script)
//   node scripts/native.mjs install  node-gyp-build: a prebuild, else a build
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const KQUEUE_PLATFORMS = ['darwin', 'freebsd', 'openbsd', 'netbsd'];
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const mode = process.argv[2];

if (mode !== 'build' && mode !== 'install') {
  console.error('usage: node scripts/native.mjs build|install');
  process.exit(2);
}
if (!KQUEUE_PLATFORMS.includes(process.platform)) {
  console.log(`@evloop/selector-kqueue: kqueue does not exist on ${process.platform}; nothing to build.`);
  process.exit(0);
}

// A Node that ships its own headers needs no header download.
const environment = { ...process.env };
const nodePrefix = resolve(dirname(process.execPath), '..');
if (!environment.npm_config_nodedir && existsSync(join(nodePrefix, 'include', 'node', 'node_api.h'))) {
  environment.npm_config_nodedir = nodePrefix;
}

function nodeGyp() {
  try {
    return [process.execPath, require.resolve('node-gyp/bin/node-gyp.js')];
  } catch {
    return ['node-gyp'];
  }
}

const [command, ...args] =
  mode === 'build' ? [...nodeGyp(), 'rebuild'] : [process.execPath, require.resolve('node-gyp-build/bin.js')];
const result = spawnSync(command, args, { cwd: packageRoot, env: environment, stdio: 'inherit' });
if (result.error) throw result.error;
process.exit(result.status ?? 1);
