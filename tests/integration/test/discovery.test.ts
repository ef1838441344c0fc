import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { KNOWN_BACKENDS } from '@evloop/interface';
import { listBackends, BACKEND_PREFERENCE } from '@evloop/core-policy';
import { backend as uringBackend } from '@evloop/proactor-uring';
import { packagesDirectory } from './helpers.js';

const made: string[] = [];
afterAll(() => {
  for (const directory of made) fs.rmSync(directory, { recursive: true, force: true });
});

/**
 * A throwaway app that has @evloop/core-policy and exactly the given backend
 * packages in its node_modules (links to the built workspace packages), as a
 * user who installed only those would.
 */
function appWith(backends: string[], options: { backendsWithoutSys?: boolean } = {}): string {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'evloop-app-'));
  made.push(directory);
  const modules = path.join(directory, 'node_modules');
  const scope = path.join(modules, '@evloop');
  fs.mkdirSync(scope, { recursive: true });
  // core-policy is copied, not linked, so that its workspace-only devDependencies
  // (such as @evloop/sys) are not reachable from it: as after a real install.
  const core = path.join(scope, 'core-policy');
  fs.mkdirSync(core);
  for (const entry of ['package.json', 'dist', 'worker']) {
    fs.cpSync(path.join(packagesDirectory, 'core-policy', entry), path.join(core, entry), { recursive: true });
  }
  const piscina = fs.realpathSync(path.join(packagesDirectory, 'core-policy', 'node_modules', 'piscina'));
  fs.symlinkSync(piscina, path.join(modules, 'piscina'), 'dir');
  fs.symlinkSync(path.join(packagesDirectory, 'interface'), path.join(scope, 'interface'), 'dir');
  for (const name of backends) {
    if (!options.backendsWithoutSys) {
      fs.symlinkSync(path.join(packagesDirectory, name), path.join(scope, name), 'dir');
      continue;
    }
    // A copy without its node_modules: as when its optional @evloop/sys did not install.
    for (const entry of ['package.json', 'dist', 'build']) {
      fs.cpSync(path.join(packagesDirectory, name, entry), path.join(scope, name, entry), { recursive: true });
    }
    const nodeGypBuild = path.join(modules, 'node-gyp-build');
    if (!fs.existsSync(nodeGypBuild)) fs.symlinkSync(fs.realpathSync(path.join(packagesDirectory, name, 'node_modules', 'node-gyp-build')), nodeGypBuild, 'dir');
  }
  return directory;
}

function runApp(directory: string, source: string, env: Record<string, string> = {}) {
  const environment: Record<string, string | undefined> = { ...process.env, ...env };
  if (!('EVLOOP_BACKEND' in env)) delete environment.EVLOOP_BACKEND;
  // pnpm's shims point NODE_PATH at the workspace's hoisted packages; a real app has no such path.
  delete environment.NODE_PATH;
  const result = spawnSync(process.execPath, ['-e', source], { cwd: directory, encoding: 'utf8', timeout: 15_000, env: environment });
  return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr };
}

const pickAndEcho = `
  const core = require('@evloop/core-policy');
  core.run(async () => {
    await core.sleep(0.001);
    return core.getRunningLoop().backend.name;
  }).then((name) => console.log(name), (error) => { console.log('ERROR ' + error.message); process.exitCode = 3; });
`;

/** One echo round-trip over loopback (networking needs @evloop/sys). */
const echoRoundTrip = `
  const core = require('@evloop/core-policy');
  core.run(async () => {
    const server = await core.startServer(async (reader, writer) => {
      writer.write(await reader.readline());
      await writer.drain();
      writer.close();
    }, '127.0.0.1', 0);
    const port = server.sockets[0].getsockname()[1];
    const [reader, writer] = await core.openConnection('127.0.0.1', port);
    writer.write(Buffer.from('ping\\n'));
    const line = (await reader.readline()).toString();
    writer.close();
    server.close();
    await server.waitClosed();
    return core.getRunningLoop().backend.name + ' ' + JSON.stringify(line);
  }).then((text) => console.log(text), (error) => { console.log('ERROR ' + error.message); process.exitCode = 3; });
`;

describe.skipIf(process.platform !== 'linux')('backend discovery in an installed app (Linux order)', () => {
  it('uses the only installed backend', () => {
    const result = runApp(appWith(['selector-poll']), pickAndEcho);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('poll');
  });

  it('serves an echo round-trip with core-policy, one backend and @evloop/sys (the optional peer) linked', () => {
    const result = runApp(appWith(['selector-poll', 'sys']), echoRoundTrip);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('poll "ping\\n"');
  });

  it("gets @evloop/sys through the backend's descriptor (backend.sys, the backend's optional dependency)", () => {
    // The linked backend has sys in its own node_modules only (as pnpm lays it out): core-policy cannot resolve it itself.
    const result = runApp(appWith(['selector-poll']), echoRoundTrip);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('poll "ping\\n"');
  });

  it('without @evloop/sys anywhere, networking says what was tried and what to install', () => {
    const result = runApp(appWith(['selector-poll'], { backendsWithoutSys: true }), echoRoundTrip);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^ERROR networking needs @evloop\/sys: @evloop\/selector-poll does not bring it .*; @evloop\/core-policy does not find it .*npm install @evloop\/sys/);
    expect(result.status).toBe(3);
  });

  it('prefers epoll when epoll and poll are both installed', () => {
    expect(runApp(appWith(['selector-epoll', 'selector-poll']), pickAndEcho).stdout).toBe('epoll');
  });

  it('prefers uring to epoll where uring is usable and not passed over (in Node, a kernel that holds the wait in the ring, with DEFER_TASKRUN)', () => {
    const availability = uringBackend.available();
    const expected = availability.ok && availability.passedOver === undefined ? 'uring' : 'epoll';
    const result = runApp(appWith(['proactor-uring', 'selector-epoll', 'sys']), echoRoundTrip);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`${expected} "ping\\n"`);
  });

  it.runIf(uringBackend.available().ok)('a backend passed over is skipped for a later usable one, and used when it is the only one or asked for', () => {
    // A uring package whose available() says passedOver (as under Bun and
    // Deno, or on a kernel before 6.1), over the real one.
    const app = appWith(['selector-epoll']);
    const fake = path.join(app, 'node_modules', '@evloop', 'proactor-uring');
    fs.mkdirSync(fake);
    fs.writeFileSync(path.join(fake, 'package.json'), JSON.stringify({ name: '@evloop/proactor-uring', version: '0.0.0-test', main: 'index.js' }));
    const real = path.join(packagesDirectory, 'proactor-uring', 'dist', 'index.cjs');
    fs.writeFileSync(
      path.join(fake, 'index.js'),
      `const real = require(${JSON.stringify(real)}).backend;
       exports.backend = Object.create(real, { available: { value: () => ({ ok: true, passedOver: 'a test says so' }) } });`,
    );
    expect(runApp(app, pickAndEcho).stdout).toBe('epoll');
    const listed = runApp(app, `const r = require('@evloop/core-policy').listBackends().find((b) => b.name === 'uring'); console.log(JSON.stringify([r.passedOver, r.reason]));`);
    expect(JSON.parse(listed.stdout)).toEqual([true, 'usable, but passed over by default while a later backend is usable: a test says so; used when asked for (EVLOOP_BACKEND=uring)']);
    expect(runApp(app, pickAndEcho, { EVLOOP_BACKEND: 'uring' }).stdout).toBe('uring');
    fs.rmSync(path.join(app, 'node_modules', '@evloop', 'selector-epoll'));
    expect(runApp(app, pickAndEcho).stdout).toBe('uring');
  });

  it('EVLOOP_BACKEND and the backend option force a backend', () => {
    const app = appWith(['selector-epoll', 'selector-poll', 'selector-select']);
    expect(runApp(app, pickAndEcho, { EVLOOP_BACKEND: 'select' }).stdout).toBe('select');
    const viaOption = runApp(
      app,
      `const core = require('@evloop/core-policy');
       core.setEventLoopPolicy(new core.DefaultEventLoopPolicy({ backend: 'poll' }));
       const loop = core.newEventLoop(); console.log(loop.backend.name); loop.close();`,
      { EVLOOP_BACKEND: 'select' },
    );
    expect(viaOption.stdout).toBe('poll');
  });

  it('a forced backend that is not installed is an error listing every candidate, never a fallback', () => {
    const result = runApp(appWith(['selector-poll']), pickAndEcho, { EVLOOP_BACKEND: 'epoll' });
    expect(result.stdout).toContain('ERROR The evloop backend "epoll" was asked for but cannot be used');
    expect(result.stdout).toContain('npm install @evloop/selector-epoll');
    expect(result.status).toBe(3);
  });

  it('with no backend installed the error names the package to install', () => {
    const result = runApp(appWith([]), pickAndEcho);
    expect(result.stdout).toContain('ERROR No usable evloop backend is installed for linux. Install one, for example: npm install @evloop/selector-epoll');
  });
});

describe('listBackends', () => {
  it('reports every known backend with installed/available/reason, in preference order', () => {
    const reports = listBackends();
    expect(reports.map((report) => report.name).sort()).toEqual(KNOWN_BACKENDS.map((known) => known.name).sort());
    for (const report of reports) {
      expect(typeof report.reason).toBe('string');
      if (!report.available) expect(report.reason.length).toBeGreaterThan(0);
    }
    const order = BACKEND_PREFERENCE[process.platform] ?? [];
    const ranked = reports.filter((report) => report.preference !== null).map((report) => report.name);
    expect(ranked).toEqual([...order]);
  });

  it.runIf(process.platform === 'linux')('uring comes first on Linux; where it runs otherwise than it was measured (Bun, Deno, an older kernel), it is passed over and says why', () => {
    expect(BACKEND_PREFERENCE.linux?.[0]).toBe('uring');
    const uring = listBackends().find((report) => report.name === 'uring')!;
    expect(uring.preference).toBe(0);
    const availability = uringBackend.available();
    if (!availability.ok) {
      expect(uring.available).toBe(false);
      expect(uring.reason).toBe(availability.reason);
      return;
    }
    if (availability.passedOver === undefined) {
      expect(uring.passedOver).toBeUndefined();
      expect(uring.reason).toBe(availability.notes ?? '');
      return;
    }
    expect(uring.passedOver).toBe(true);
    expect(uring.reason).toMatch(/^usable, but passed over by default while a later backend is usable: .*; used when asked for \(EVLOOP_BACKEND=uring\)/);
    if (availability.notes !== undefined) expect(uring.reason.endsWith(`; ${availability.notes}`)).toBe(true);
  });

});
