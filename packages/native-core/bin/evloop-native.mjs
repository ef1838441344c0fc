#!/usr/bin/env node
// The one build script of every evloop native package, run from the
// package's folder (its `native:build` and `install` scripts):
//
//   evloop-native build     compile the addon with node-gyp (node-gyp rebuild)
//   evloop-native install   node-gyp-build: load a matching prebuild from
//                           prebuilds/, else compile as `build` does
//
// binding.gyp is the one description of what is compiled. The package's
// `evloop.platforms` (package.json) lists where its mechanism exists; on any
// other platform both commands build nothing and succeed, so the package
// installs without a compiler, and its `available()` says why it cannot
// work. Without that list the addon is built everywhere.
//
// When this Node ships its own headers (include/node beside the binary, as
// the official tarballs and most distributions do), node-gyp is pointed at
// them, so no header download is needed.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const USAGE = 'usage: evloop-native build|install (run in the folder of a package with a binding.gyp)';

const mode = process.argv[2];
if (mode !== 'build' && mode !== 'install') {
  console.error(USAGE);
  process.exit(2);
}

const packageRoot = process.cwd();
const manifestPath = join(packageRoot, 'package.json');
if (!existsSync(manifestPath) || !existsSync(join(packageRoot, 'binding.gyp'))) {
  console.error(`evloop-native: no package.json and binding.gyp in ${packageRoot}\n${USAGE}`);
  process.exit(2);
}
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
const { platforms, mechanism } = manifest.evloop ?? {};

if (Array.isArray(platforms) && !platforms.includes(process.platform)) {
  console.log(`${manifest.name}: ${mechanism ?? 'this addon'} does not exist on ${process.platform}; nothing to build.`);
  process.exit(0);
}

const environment = { ...process.env };
const nodePrefix = resolve(dirname(process.execPath), '..');
if (!environment.npm_config_nodedir && existsSync(join(nodePrefix, 'include', 'node', 'node_api.h'))) {
  environment.npm_config_nodedir = nodePrefix;
}

const require = createRequire(manifestPath);

/** node-gyp as a command: npm's own (npm_config_node_gyp), the package's, or the one on PATH. */
function nodeGyp() {
  if (environment.npm_config_node_gyp && existsSync(environment.npm_config_node_gyp)) {
    return [process.execPath, environment.npm_config_node_gyp];
  }
  try {
    return [process.execPath, require.resolve('node-gyp/bin/node-gyp.js')];
  } catch {
    return ['node-gyp'];
  }
}

const [command, ...args] =
  mode === 'build' ? [...nodeGyp(), 'rebuild'] : [process.execPath, require.resolve('node-gyp-build/bin.js')];
const result = spawnSync(command, args, {
  cwd: packageRoot,
  env: environment,
  stdio: 'inherit',
  shell: process.platform === 'win32' && command === 'node-gyp',
});
if (result.error) {
  console.error(`evloop-native: cannot run ${command}: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
