// vitest under Wine needs the win32-x64 builds of its native parts (rolldown,
// lightningcss, esbuild), which the Linux install leaves out. This installs
// them (`npm install --os=win32 --cpu=x64`, the versions the lockfile chose)
// into a cache directory and copies each beside its parent in pnpm's store
// (node_modules/.pnpm/<parent>/node_modules/<binding>) and into pnpm's hoisted
// store, where the parent's require() looks. node_modules is git-ignored; nothing is saved.
//   node win32-natives.mjs <cache dir>
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const cache = process.argv[2];
if (!cache) throw new TypeError('usage: win32-natives.mjs <cache dir>');
const store = join(root, 'node_modules', '.pnpm');
const parents = ['rolldown', 'lightningcss', 'esbuild'];

const wanted = []; // [binding name, version, parent directory]
for (const entry of readdirSync(store)) {
  const name = parents.find((parent) => entry.startsWith(`${parent}@`));
  if (!name) continue;
  const directory = join(store, entry, 'node_modules', name);
  const manifest = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8'));
  for (const [dependency, version] of Object.entries(manifest.optionalDependencies ?? {})) {
    if (!/win32-x64/.test(dependency)) continue;
    // Beside the parent, and in pnpm's hoisted store (node_modules/.pnpm/node_modules), since
    // Node under Wine does not resolve the symlinks and may load the parent from either.
    wanted.push([dependency, version, join(store, entry, 'node_modules')], [dependency, version, join(store, 'node_modules')]);
  }
}
const missing = wanted.filter(([dependency, , parent]) => !existsSync(join(parent, dependency, 'package.json')));
if (missing.length === 0) process.exit(0);

mkdirSync(cache, { recursive: true });
writeFileSync(join(cache, 'package.json'), JSON.stringify({ private: true, name: 'evloop-win32-natives' }));
const specs = [...new Set(missing.map(([dependency, version]) => `${dependency}@${version}`))];
console.log(`== windows: installing ${specs.join(' ')} (win32-x64)`);
execFileSync('npm', ['install', '--os=win32', '--cpu=x64', '--force', '--no-save', '--no-package-lock', '--ignore-scripts', '--no-audit', '--no-fund', ...specs], {
  cwd: cache,
  stdio: 'inherit',
});
for (const [dependency, , parent] of missing) {
  cpSync(join(cache, 'node_modules', dependency), join(parent, dependency), { recursive: true });
}
