// Runs `node-gyp rebuild` for this package. When the running Node ships its
// own headers (e.g. a distro or Homebrew install), point node-gyp at them so
// the build needs no network; otherwise node-gyp uses its usual header cache.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const prefix = dirname(dirname(process.execPath));
const args = ['rebuild'];
if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
args.push(...process.argv.slice(2));

function nodeGypCommand() {
  try {
    const require = createRequire(import.meta.url);
    return [process.execPath, require.resolve('node-gyp/bin/node-gyp.js')];
  } catch {
    return ['node-gyp'];
  }
}

const [command, ...prefixArgs] = nodeGypCommand();
const result = spawnSync(command, [...prefixArgs, ...args], { cwd: packageRoot, stdio: 'inherit', shell: process.platform === 'win32' });
process.exit(result.status ?? 1);
