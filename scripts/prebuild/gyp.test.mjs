// node --test scripts/prebuild/gyp.test.mjs
// The binding.gyp reader and the target table: what a cross build derives
// from binding.gyp must be what node-gyp would use on that platform.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { evaluateCondition, mergeInto, parseGyp, readBindingGyp } from './gyp.mjs';
import { inspectPe } from './inspect.mjs';
import { NOT_YET, prebuildPath, targetById, TARGETS } from './targets.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'evloop-gyp-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('parseGyp', () => {
  it('reads Python literals: both quotes, comments, trailing commas, adjacent strings', () => {
    const value = parseGyp(`{
      # a comment
      'targets': [ { "target_name": 'a', 'n': 8, 'flag': True, 'joined': 'x' "y", }, ],
    }`);
    assert.deepEqual(value, { targets: [{ target_name: 'a', n: 8, flag: true, joined: 'xy' }] });
  });
  it('names the file and line of a syntax error', () => {
    assert.throws(() => parseGyp("{\n'a': [1,\n'b' 'c'\n", 'broken.gyp'), /broken\.gyp:\d+:/);
  });
});

describe('evaluateCondition', () => {
  const variables = { OS: 'mac', target_arch: 'arm64', NAPI_VERSION: '8' };
  it('evaluates comparisons, and/or/not and parentheses as Python does', () => {
    assert.equal(evaluateCondition("OS=='mac' or OS=='freebsd'", variables), true);
    assert.equal(evaluateCondition('OS=="linux" and target_arch=="arm64"', variables), false);
    assert.equal(evaluateCondition('not (OS=="linux" or OS=="win")', variables), true);
    assert.equal(evaluateCondition('NAPI_VERSION!=""', variables), true);
    assert.equal(evaluateCondition('NAPI_VERSION==2147483647', variables), false);
  });
  it('refuses an unknown variable by name', () => {
    assert.throws(() => evaluateCondition('nodedir=="x"', variables), /unknown variable nodedir/);
  });
});

describe('mergeInto', () => {
  it('appends lists, prepends with +, replaces with =, keeps with ?', () => {
    const merged = mergeInto({ a: [1], b: [1], c: [1], d: 'kept' }, { a: [2], 'b+': [0], 'c=': [9], 'd?': 'ignored', 'e?': 'set' });
    assert.deepEqual(merged, { a: [1, 2], b: [0, 1], c: [9], d: 'kept', e: 'set' });
  });
});

describe('readBindingGyp', () => {
  // A dependency in the style of node-addon-api's node_addon_api.gyp:
  // direct_dependent_settings with an include that has its own conditions.
  const library = join(scratch, 'library');
  mkdirSync(join(library, 'include'), { recursive: true });
  writeFileSync(join(library, 'library.gyp'), `{
    'targets': [{
      'target_name': 'headers',
      'type': 'none',
      'direct_dependent_settings': { 'include_dirs': ['include'], 'includes': ['except.gypi'] },
    }],
  }`);
  writeFileSync(join(library, 'except.gypi'), `{
    'defines': ['LIB_EXCEPTIONS'],
    'cflags_cc!': ['-fno-exceptions'],
    'conditions': [["OS=='mac'", { 'xcode_settings': { 'GCC_ENABLE_CPP_EXCEPTIONS': 'YES' } }]],
  }`);
  const addon = join(scratch, 'addon');
  mkdirSync(addon, { recursive: true });
  writeFileSync(join(addon, 'binding.gyp'), `{
    'variables': { 'extra%': 'from-default' },
    'targets': [{
      'target_name': 'thing',
      'dependencies': ["<!(node -p \\"'../library/library.gyp'\\"):headers"],
      'sources': ['src/a.cc', 'src/b.c'],
      'include_dirs': ["<!(node -p \\"'vendor'\\")"],
      'defines': ['EXTRA=<(extra)'],
      'conditions': [
        ["OS=='linux'", { 'sources': ['src/linux.cc'], 'cflags_cc': ['-Wall'] }, { 'sources': ['src/other.cc'] }],
        ["OS=='mac' and target_arch=='arm64'", { 'defines': ['MAC_ARM'] }],
      ],
    }],
  }`);
  const defaults = { cflags_cc: ['-fno-rtti', '-fno-exceptions'] };

  it('derives sources, include dirs, defines and flags for Linux, applying a dependency\'s settings and list filters', () => {
    const [target] = readBindingGyp(join(addon, 'binding.gyp'), { OS: 'linux', target_arch: 'x64' }, { defaults });
    assert.equal(target.name, 'thing');
    assert.equal(target.type, 'loadable_module');
    assert.deepEqual(target.sources, ['src/a.cc', 'src/b.c', 'src/linux.cc'].map((file) => join(addon, file)));
    assert.deepEqual(target.includeDirs, [join(addon, 'vendor'), join(library, 'include')]);
    assert.deepEqual(target.defines, ['EXTRA=from-default', 'LIB_EXCEPTIONS']);
    assert.deepEqual(target.cflagsCC, ['-fno-rtti', '-Wall']);
  });

  it('takes the else branch and the mac-only settings for macOS', () => {
    const [target] = readBindingGyp(join(addon, 'binding.gyp'), { OS: 'mac', target_arch: 'arm64' }, { defaults });
    assert.deepEqual(target.sources.map((file) => file.slice(addon.length + 1)), ['src/a.cc', 'src/b.c', 'src/other.cc']);
    assert.deepEqual(target.defines, ['EXTRA=from-default', 'MAC_ARM', 'LIB_EXCEPTIONS']);
    assert.equal(target.xcodeSettings.GCC_ENABLE_CPP_EXCEPTIONS, 'YES');
  });

  it('refuses a key it does not understand, by name', () => {
    const odd = join(scratch, 'odd');
    mkdirSync(odd, { recursive: true });
    writeFileSync(join(odd, 'binding.gyp'), "{ 'targets': [{ 'target_name': 'x', 'actions': [] }] }");
    assert.throws(() => readBindingGyp(join(odd, 'binding.gyp'), { OS: 'linux', target_arch: 'x64' }), /does not understand "actions"/);
  });

  it('reads every native package of this repository for every target it asks for', () => {
    let packages = 0;
    for (const entry of readdirSync(join(root, 'packages'))) {
      const gyp = join(root, 'packages', entry, 'binding.gyp');
      if (!existsSync(gyp)) continue;
      const manifest = JSON.parse(String(readFileSync(join(root, 'packages', entry, 'package.json'))));
      for (const id of manifest.evloop?.prebuilds ?? []) {
        const target = targetById(id);
        const addons = readBindingGyp(gyp, { OS: target.gypOS, target_arch: target.arch }).filter((addon) => addon.type !== 'none');
        assert.ok(addons.length > 0, `${entry} builds nothing for ${id}`);
        for (const addon of addons) {
          assert.ok(addon.sources.length > 0, `${entry} ${id}: no sources`);
          for (const source of addon.sources) assert.ok(existsSync(source), `${entry} ${id}: ${source} does not exist`);
          assert.ok(addon.defines.some((define) => define.startsWith('NAPI_VERSION=')), `${entry} ${id}: no NAPI_VERSION`);
        }
      }
      packages++;
    }
    assert.ok(packages >= 5, `found ${packages} native packages`);
  });
});

describe('targets', () => {
  it('names files the way node-gyp-build 4.8 matches them', () => {
    assert.equal(prebuildPath(targetById('linux-arm64-glibc'), 'selector_epoll'), 'prebuilds/linux-arm64/selector_epoll.napi.glibc.node');
    assert.equal(prebuildPath(targetById('linux-x64-musl'), 'evloop_sys'), 'prebuilds/linux-x64/evloop_sys.napi.musl.node');
    assert.equal(prebuildPath(targetById('darwin-arm64'), 'selector_kqueue'), 'prebuilds/darwin-arm64/selector_kqueue.napi.node');
    assert.equal(prebuildPath(targetById('win32-x64'), 'proactor_iocp'), 'prebuilds/win32-x64/proactor_iocp.napi.node');
  });

  it('the Windows packages ask for win32-x64 prebuilds, and node-gyp-build takes the napi file there', async () => {
    for (const name of ['sys', 'selector-select', 'proactor-iocp']) {
      const manifest = JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8'));
      assert.ok(manifest.evloop.prebuilds.includes('win32-x64'), `${name} lists win32-x64`);
    }
    const { createRequire } = await import('node:module');
    const nodeGypBuild = createRequire(join(root, 'packages', 'sys', 'package.json'))('node-gyp-build');
    assert.equal(nodeGypBuild.matchTags('node', '127')(nodeGypBuild.parseTags('evloop_sys.napi.node')), true);
  });

  const objdump = 'x86_64-w64-mingw32-objdump';
  const windowsTarget = targetById('win32-x64');
  const windowsPrebuilds = [['sys', 'evloop_sys'], ['selector-select', 'selector_select'], ['proactor-iocp', 'proactor_iocp']]
    .map(([name, addon]) => join(root, 'packages', name, prebuildPath(windowsTarget, addon)))
    .filter((file) => existsSync(file));
  const noWindowsCheck =
    spawnSync(objdump, ['--version']).status !== 0
      ? 'no MinGW-w64 objdump here'
      : windowsPrebuilds.length === 0
        ? 'no win32-x64 prebuild built here (pnpm prebuild --target win32-x64)'
        : false;
  it('the Windows prebuilds import only system DLLs and Node-API from node.exe', { skip: noWindowsCheck }, () => {
    for (const file of windowsPrebuilds) assert.match(inspectPe(objdump, file, windowsTarget), /x86_64 PE DLL, imports .*node\.exe/);
  });

  it('node-gyp-build picks the glibc file on glibc and never the musl one', async () => {
    const { createRequire } = await import('node:module');
    const nodeGypBuild = createRequire(join(root, 'packages', 'sys', 'package.json'))('node-gyp-build');
    const tags = (file) => nodeGypBuild.parseTags(file);
    const onGlibc = nodeGypBuild.matchTags('node', '115');
    assert.equal(onGlibc(tags('evloop_sys.napi.glibc.node')), true);
    assert.equal(onGlibc(tags('evloop_sys.napi.musl.node')), false);
  });

  it('refuses an unknown target and explains a planned one', () => {
    assert.throws(() => targetById('linux-riscv64'), RangeError);
    assert.throws(() => targetById('win32-arm64'), new RegExp(NOT_YET['win32-arm64'].slice(0, 20)));
    assert.ok(Object.keys(TARGETS).includes('darwin-x64'));
  });
});
