import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BACKEND_SPECIFICATION_VERSION,
  KNOWN_BACKENDS,
  RuntimeError,
  addonLoader,
  nativeBackend,
  notOnThisPlatform,
  sysLoader,
  type BaseSelector,
  type SysModule,
} from '@evloop/interface';

const made: string[] = [];
afterAll(() => {
  for (const directory of made) fs.rmSync(directory, { recursive: true, force: true });
});

/** A throwaway package folder with `files`, returning the URL of `src/load-native.js` inside it. */
function fakePackage(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'evloop-native-backend-'));
  made.push(root);
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), text);
  }
  return pathToFileURL(path.join(root, 'src', 'load-native.js')).href;
}

function withPlatform<T>(platform: string, body: () => T): T {
  const saved = Object.getOwnPropertyDescriptor(process, 'platform')!;
  Object.defineProperty(process, 'platform', { ...saved, value: platform });
  try {
    return body();
  } finally {
    Object.defineProperty(process, 'platform', saved);
  }
}

type FakeAddon = { probe(): void; Selector: new () => object };
const selector = {} as BaseSelector;
const workingAddon: FakeAddon = { probe: () => {}, Selector: class {} };

describe('notOnThisPlatform', () => {
  it("says it as evloop/platform.h's ExportUnsupported does", () => {
    expect(notOnThisPlatform('kqueue', 'macOS or a BSD', 'linux')).toBe('kqueue does not exist on linux; it needs macOS or a BSD');
    expect(notOnThisPlatform('epoll', 'Linux or Android')).toBe(`epoll does not exist on ${process.platform}; it needs Linux or Android`);
  });

  it('every known backend names its mechanism and what it needs', () => {
    for (const known of KNOWN_BACKENDS) {
      expect(known.mechanism.length).toBeGreaterThan(0);
      expect(known.needs.length).toBeGreaterThan(0);
    }
  });
});

describe('nativeBackend', () => {
  it('refuses a name evloop does not know, with RangeError naming it', () => {
    expect(() => nativeBackend({ name: 'nope' as never, load: () => workingAddon, probe: () => {} })).toThrow(/options\.name.*"nope"/);
  });

  it('says "not on this platform" from the known platforms, without loading the addon', () => {
    let loads = 0;
    const backend = nativeBackend<FakeAddon>({ name: 'kqueue', load: () => (loads++, workingAddon), probe: () => {} });
    withPlatform('linux', () => {
      expect(backend.available()).toEqual({ ok: false, reason: 'kqueue does not exist on linux; it needs macOS or a BSD' });
      expect(() => backend.require()).toThrow(new RuntimeError('@evloop/selector-kqueue cannot create a selector: kqueue does not exist on linux; it needs macOS or a BSD'));
    });
    expect(loads).toBe(0);
  });

  it("passes on the addon's own unsupportedReason", () => {
    const backend = nativeBackend<FakeAddon>({ name: 'poll', load: () => ({ unsupportedReason: 'poll(2) does not exist on plan9; it needs a POSIX system' }), probe: () => {} });
    withPlatform('linux', () => expect(backend.available()).toEqual({ ok: false, reason: 'poll(2) does not exist on plan9; it needs a POSIX system' }));
  });

  it('reports an addon that fails to load, and never throws from available()', () => {
    const backend = nativeBackend<FakeAddon>({
      name: 'epoll',
      load: () => {
        throw new Error('No native build was found');
      },
      probe: () => {},
    });
    withPlatform('linux', () => {
      expect(backend.available()).toEqual({
        ok: false,
        reason: 'the native addon could not be loaded (build it with `pnpm native:build` or reinstall): No native build was found',
      });
      expect(() => backend.require()).toThrow(RuntimeError);
    });
  });

  it('turns a probe that throws { errno, syscall } into "<mechanism> does not work here" with the typed error', () => {
    const backend = nativeBackend<FakeAddon>({
      name: 'epoll',
      load: () => workingAddon,
      probe: () => {
        throw Object.assign(new Error('epoll_create1 EMFILE'), { errno: 24, code: 'EMFILE', syscall: 'epoll_create1' });
      },
    });
    withPlatform('linux', () => {
      const availability = backend.available();
      expect(availability.ok).toBe(false);
      expect(availability.ok === false && availability.reason).toMatch(/^epoll does not work here: .*EMFILE/);
    });
  });

  it("returns the probe's own Availability, notes included", () => {
    const backend = nativeBackend<FakeAddon>({ name: 'select', load: () => workingAddon, probe: () => ({ ok: true, notes: 'small sets only' }) });
    withPlatform('linux', () => expect(backend.available()).toEqual({ ok: true, notes: 'small sets only' }));
  });

  it('makes a frozen descriptor of the known backend, with sys read on demand and not enumerable', () => {
    const sys = { constants: {} } as SysModule;
    let reads = 0;
    const backend = nativeBackend<FakeAddon>({ name: 'poll', load: () => workingAddon, probe: () => {}, sys: () => (reads++, sys) });
    const descriptor = backend.descriptor({ createSelector: () => selector });
    expect(Object.isFrozen(descriptor)).toBe(true);
    expect(descriptor).toMatchObject({ specificationVersion: BACKEND_SPECIFICATION_VERSION, name: 'poll', kind: 'selector', packageName: '@evloop/selector-poll' });
    expect(descriptor.createSelector!()).toBe(selector);
    expect(reads).toBe(0);
    expect(Object.keys(descriptor)).not.toContain('sys');
    expect(descriptor.sys).toBe(sys);
    expect(reads).toBe(1);
  });

  it('refuses factories of the wrong kind with TypeError', () => {
    const backend = nativeBackend<FakeAddon>({ name: 'uring', load: () => workingAddon, probe: () => {} });
    expect(() => backend.descriptor({ createSelector: () => selector })).toThrow(/uring backend is a proactor backend: factories.createProactor must be a function/);
  });
});

describe('addonLoader', () => {
  it('loads with node-gyp-build from the folder above the module, once, and repeats a load error', () => {
    const url = fakePackage({
      'node_modules/node-gyp-build/index.js': "let calls = 0; module.exports = (root) => ({ root, calls: ++calls });",
    });
    const load = addonLoader<{ root: string; calls: number }>(url);
    const first = load();
    expect(fs.realpathSync(first.root)).toBe(fs.realpathSync(path.dirname(path.dirname(new URL(url).pathname))));
    expect(load()).toBe(first);

    const failing = addonLoader(fakePackage({ 'node_modules/node-gyp-build/index.js': "module.exports = () => { throw new Error('no build'); };" }));
    expect(() => failing()).toThrow('no build');
    expect(() => failing()).toThrow('no build');
  });
});

describe('sysLoader', () => {
  it("loads @evloop/sys as the calling package resolves it, or gives undefined when it is not installed", () => {
    const withSys = sysLoader(fakePackage({ 'node_modules/@evloop/sys/index.js': "module.exports = { marker: 'sys' };" }));
    expect(withSys()).toEqual({ marker: 'sys' });
    // In a fresh Node without pnpm's NODE_PATH (which reaches every workspace package), as in an app.
    const bare = fakePackage({ 'src/load-native.js': '' });
    const built = pathToFileURL(path.join(import.meta.dirname, '..', 'dist', 'index.js')).href;
    const environment = { ...process.env };
    delete environment.NODE_PATH;
    const child = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `import { sysLoader } from ${JSON.stringify(built)}; console.log(String(sysLoader(${JSON.stringify(bare)})()));`],
      { encoding: 'utf8', env: environment, timeout: 15_000 },
    );
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('undefined');
  });

  it('throws any other load failure instead of calling it "not installed"', () => {
    const broken = sysLoader(fakePackage({ 'node_modules/@evloop/sys/index.js': "throw new Error('addon does not load here');" }));
    expect(() => broken()).toThrow('addon does not load here');
  });
});
