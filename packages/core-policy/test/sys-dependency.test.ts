import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packagesDirectory } from './helpers.js';

/**
 * @evloop/sys is an optional peer dependency of core-policy: found where
 * core-policy (or the app) resolves it, never by looking inside a backend
 * package. Checked on the built package, installed by hand into a scratch
 * node_modules the way a strict (pnpm-like) layout would place it.
 */
const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) fs.rmSync(directory, { recursive: true, force: true });
});

function link(modules: string, name: string, target: string): void {
  const at = path.join(modules, name);
  fs.mkdirSync(path.dirname(at), { recursive: true });
  fs.symlinkSync(target, at, 'dir');
}

/** A project with core-policy (and its own dependencies); `extra` adds more to its node_modules. */
function project(extra: (modules: string) => void): string {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'evloop-sys-dep-'));
  directories.push(directory);
  const modules = path.join(directory, 'node_modules');
  const core = path.join(modules, '@evloop', 'core-policy');
  fs.mkdirSync(core, { recursive: true });
  fs.cpSync(path.join(packagesDirectory, 'core-policy', 'dist'), path.join(core, 'dist'), { recursive: true });
  fs.cpSync(path.join(packagesDirectory, 'core-policy', 'worker'), path.join(core, 'worker'), { recursive: true });
  fs.copyFileSync(path.join(packagesDirectory, 'core-policy', 'package.json'), path.join(core, 'package.json'));
  link(modules, '@evloop/interface', path.join(packagesDirectory, 'interface'));
  link(modules, 'piscina', fs.realpathSync(path.join(packagesDirectory, 'core-policy', 'node_modules', 'piscina')));
  extra(modules);
  return directory;
}

/**
 * Make a listening socket (which needs @evloop/sys) with createServer, not
 * started, on a loop over a do-nothing selector; print its family or the error.
 */
const SCRIPT = `
const core = require('@evloop/core-policy');
const selector = { backendName: 'none', readyBuffer: new Int32Array(2), getMap: () => new Map(), selectInto: () => 0, watch() {}, unwatch() {}, close() {} };
const loop = new core.SelectorEventLoop(selector);
loop.runUntilComplete(loop.createServer(() => ({}), '127.0.0.1', 0, { startServing: false }))
  .then((server) => { console.log('ok ' + server.sockets.length); server.close(); }, (error) => console.log(error.name + ': ' + error.message))
  .finally(() => loop.close());
`;

function runIn(directory: string): string {
  // Without NODE_PATH: package-manager runners set it to their whole store, where anything resolves.
  const { NODE_PATH: _ignored, ...env } = process.env;
  const result = spawnSync(process.execPath, ['-e', SCRIPT], { cwd: directory, env, encoding: 'utf8', timeout: 20_000 });
  expect(result.stderr).toBe('');
  return result.stdout.trim();
}

describe('@evloop/sys as an optional peer dependency', () => {
  it('is used when it is installed beside core-policy', () => {
    const directory = project((modules) => link(modules, '@evloop/sys', path.join(packagesDirectory, 'sys')));
    expect(runIn(directory)).toBe('ok 1');
  });

  it('is not looked for inside a backend package; the error says what to install', () => {
    const directory = project((modules) => {
      // A backend that has sys in its own node_modules only, as pnpm lays it out.
      const backend = path.join(modules, '@evloop', 'selector-poll');
      fs.mkdirSync(backend, { recursive: true });
      fs.writeFileSync(path.join(backend, 'package.json'), JSON.stringify({ name: '@evloop/selector-poll', version: '0.0.0', main: 'index.js' }));
      fs.writeFileSync(path.join(backend, 'index.js'), 'module.exports = {};\n');
      link(path.join(backend, 'node_modules'), '@evloop/sys', path.join(packagesDirectory, 'sys'));
    });
    expect(runIn(directory)).toMatch(/^RuntimeError: networking needs @evloop\/sys, an optional peer dependency of @evloop\/core-policy .*npm install @evloop\/sys/);
  });
});
