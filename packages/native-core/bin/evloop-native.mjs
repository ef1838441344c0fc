#!/usr/bin/env node
// The one build script of every evloop native package, run from the
// package's folder (its `native:build` and `install` scripts):
//
//   evloop-native build     compile the addon with node-gyp (node-gyp rebuild)
//   evloop-native install   a prebuilt binary (prebuilds/, made by `pnpm
//                           prebuild`) or build/ that loads here: nothing
//                           to do; otherwise say so in one line and compile
//                           as `build` does (`--build-from-source`: compile)
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

if (mode === 'install') {
  const target = `${process.platform}-${process.arch}`;
  let reason;
  if (environment.npm_config_build_from_source === 'true') {
    reason = 'compiling from source, as asked (--build-from-source)';
  } else {
    let candidate;
    try {
      candidate = require('node-gyp-build').resolve(packageRoot);
    } catch {
      candidate = undefined;
    }
    if (candidate === undefined) {
      reason = `no prebuilt binary for ${target}; compiling from source`;
    } else {
      // Load it in a child process: a binary that crashes on load must not
      // take the installer with it.
      const probe = spawnSync(process.execPath, ['-e', 'require(process.argv[1])', candidate], { encoding: 'utf8' });
      if (probe.status === 0) process.exit(0);
      const why = (probe.stderr.split('\n').find((line) => /Error/.test(line)) ?? `exit ${probe.status ?? probe.signal}`).trim();
      reason = `the binary for ${target} does not load (${why}); compiling from source`;
    }
  }
  console.log(`${manifest.name}: ${reason}`);
}

const [command, ...args] = [...nodeGyp(), 'rebuild'];
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
