// The package's npm `install` script. A prebuilt binary in prebuilds/ (or a
// build in build/) that loads here means there is nothing to do. Otherwise one
// line says why, and the addon is compiled from source with node-gyp (which
// needs a C++ compiler, make and python3). On a platform the package is not
// for (package.json "evloop": { "platforms" }), nothing is built and the
// package reports itself unavailable at run time.
//
// `npm install --build-from-source` (npm_config_build_from_source=true)
// compiles even when a prebuilt binary loads.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8'));
const require = createRequire(import.meta.url);
const say = (message) => console.log(`${manifest.name}: ${message}`);

// "platforms" uses npm's `os` syntax: names, or "!name" for all but those.
const platforms = manifest.evloop?.platforms ?? [];
const excluded = platforms.filter((entry) => entry.startsWith('!')).map((entry) => entry.slice(1));
const included = platforms.filter((entry) => !entry.startsWith('!'));
if (excluded.includes(process.platform) || (included.length > 0 && !included.includes(process.platform))) {
  say(`not for ${process.platform}; nothing to build.`);
  process.exit(0);
}

const target = `${process.platform}-${process.arch}`;
let reason;
if (process.env.npm_config_build_from_source === 'true') {
  reason = 'building from source as asked (--build-from-source)';
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
say(reason);

// A Node that ships its own headers (distribution packages do) needs no
// header download.
const environment = { ...process.env };
const nodePrefix = resolve(dirname(process.execPath), '..');
if (!environment.npm_config_nodedir && existsSync(join(nodePrefix, 'include', 'node', 'node_api.h'))) {
  environment.npm_config_nodedir = nodePrefix;
}
// node-gyp: our own dependency if any, else the one npm runs scripts with
// (npm_config_node_gyp), else one on PATH.
let command = [process.execPath];
try {
  command.push(require.resolve('node-gyp/bin/node-gyp.js'));
} catch {
  if (environment.npm_config_node_gyp && existsSync(environment.npm_config_node_gyp)) command.push(environment.npm_config_node_gyp);
  else command = ['node-gyp'];
}
const result = spawnSync(command[0], [...command.slice(1), 'rebuild'], {
  cwd: packageRoot,
  env: environment,
  stdio: 'inherit',
  shell: process.platform === 'win32' && command[0] === 'node-gyp',
});
if (result.error) {
  say(`could not run node-gyp: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
