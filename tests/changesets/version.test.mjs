// `changeset version` on a copy of this workspace's manifests and changeset
// config: a changeset for one backend bumps only that backend; a minor
// changeset for @evloop/interface (0.x: out of its dependents' `workspace:^`
// range) also patch-bumps the published packages that depend on it. Private
// packages never change version. The real repo is never written to.
//
//   pnpm test:changesets   (node --test tests/changesets/version.test.mjs)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const changesetBin = join(repoRoot, 'node_modules', '@changesets', 'cli', 'bin.js');
const workspaceFolders = ['packages', 'apps', 'tests'];
const scratch = [];
const realManifests = new Map();

before(() => {
  assert.ok(existsSync(changesetBin), 'run pnpm install first: @changesets/cli is missing');
  for (const [name, entry] of readManifests(repoRoot)) realManifests.set(name, entry.text);
});

after(() => {
  for (const folder of scratch) rmSync(folder, { recursive: true, force: true });
});

/** A temp copy of the root manifest, workspace file, changeset config and every workspace package's package.json. */
function copyWorkspace() {
  const root = mkdtempSync(join(tmpdir(), 'evloop-changesets-'));
  scratch.push(root);
  for (const file of ['package.json', 'pnpm-workspace.yaml']) cpSync(join(repoRoot, file), join(root, file));
  mkdirSync(join(root, '.changeset'));
  cpSync(join(repoRoot, '.changeset', 'config.json'), join(root, '.changeset', 'config.json'));
  for (const folder of workspaceFolders) {
    for (const name of readdirSync(join(repoRoot, folder))) {
      const manifest = join(repoRoot, folder, name, 'package.json');
      if (!existsSync(manifest)) continue;
      mkdirSync(join(root, folder, name), { recursive: true });
      cpSync(manifest, join(root, folder, name, 'package.json'));
    }
  }
  // The config names its changelog generator by package name; resolve it from the repo's install.
  symlinkSync(join(repoRoot, 'node_modules'), join(root, 'node_modules'), 'dir');
  return root;
}

/** package name -> { folder, manifest } for every workspace package under root. */
function readManifests(root) {
  const manifests = new Map();
  for (const folder of workspaceFolders) {
    const base = join(root, folder);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base)) {
      const file = join(base, name, 'package.json');
      if (!existsSync(file)) continue;
      const manifest = JSON.parse(readFileSync(file, 'utf8'));
      manifests.set(manifest.name, { folder: join(folder, name), text: readFileSync(file, 'utf8'), manifest });
    }
  }
  return manifests;
}

function versionWith(root, releases, summary) {
  const frontMatter = Object.entries(releases).map(([name, bump]) => `"${name}": ${bump}`);
  writeFileSync(join(root, '.changeset', 'test-change.md'), `---\n${frontMatter.join('\n')}\n---\n\n${summary}\n`);
  const result = spawnSync(process.execPath, [changesetBin, 'version'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 0, `changeset version failed:\n${result.stdout}\n${result.stderr}`);
  assert.ok(!existsSync(join(root, '.changeset', 'test-change.md')), 'the changeset is consumed');
}

function changedPackages(before, after) {
  const changed = {};
  for (const [name, entry] of after) {
    // Compare parsed manifests: changeset reformats the JSON of dependents whose content it leaves alone.
    if (!isDeepStrictEqual(entry.manifest, before.get(name)?.manifest)) changed[name] = { from: before.get(name)?.manifest.version, to: entry.manifest.version };
  }
  return changed;
}

function bump(version, part) {
  const [major, minor, patch] = version.split('.').map(Number);
  return part === 'minor' ? `${major}.${minor + 1}.0` : `${major}.${minor}.${patch + 1}`;
}

test('a changeset for @evloop/selector-poll bumps only @evloop/selector-poll', () => {
  const root = copyWorkspace();
  const before = readManifests(root);
  const pollVersion = before.get('@evloop/selector-poll').manifest.version;

  versionWith(root, { '@evloop/selector-poll': 'patch' }, 'poll: a fix.');

  const after = readManifests(root);
  assert.deepEqual(changedPackages(before, after), {
    '@evloop/selector-poll': { from: pollVersion, to: bump(pollVersion, 'patch') },
  });
  const changelog = readFileSync(join(root, after.get('@evloop/selector-poll').folder, 'CHANGELOG.md'), 'utf8');
  assert.match(changelog, /poll: a fix\./);
  for (const [name, entry] of after) {
    if (name === '@evloop/selector-poll') continue;
    assert.ok(!existsSync(join(root, entry.folder, 'CHANGELOG.md')), `${name} got a changelog`);
  }
});

test('a minor changeset for @evloop/interface patch-bumps the published packages that depend on it, and nothing private', () => {
  const root = copyWorkspace();
  const before = readManifests(root);
  assert.match(before.get('@evloop/interface').manifest.version, /^0\./, 'update this test for 1.x: a minor bump stays in a ^ range there');

  versionWith(root, { '@evloop/interface': 'minor' }, 'interface: a new contract.');

  const after = readManifests(root);
  const changed = changedPackages(before, after);
  const expected = {};
  for (const [name, entry] of before) {
    const { manifest } = entry;
    if (manifest.private) continue;
    const dependsOnInterface = manifest.dependencies?.['@evloop/interface'] !== undefined;
    if (name === '@evloop/interface') expected[name] = { from: manifest.version, to: bump(manifest.version, 'minor') };
    else if (dependsOnInterface) expected[name] = { from: manifest.version, to: bump(manifest.version, 'patch') };
  }
  assert.deepEqual(changed, expected);
  for (const [name, entry] of after) {
    if (entry.manifest.private) assert.deepEqual(entry.manifest, before.get(name).manifest, `${name} is private and must not change`);
  }
});

test('the real repo is untouched', () => {
  assert.ok(!existsSync(join(repoRoot, '.changeset', 'test-change.md')));
  for (const [name, entry] of readManifests(repoRoot)) assert.equal(entry.text, realManifests.get(name), `${name}'s real manifest changed`);
});
