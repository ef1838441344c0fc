import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { KNOWN_BACKENDS, RuntimeError } from '@evloop/interface';
import { describe, expect, it } from 'vitest';
import { backend, KqueueSelector } from '../src/index.js';
import { loadNative } from '../src/load-native.js';
import { describeKqueueQuirks } from './kqueue-quirks.js';

const hasKqueue = ['darwin', 'freebsd', 'openbsd', 'netbsd'].includes(process.platform);

describe('kqueue backend descriptor', () => {
  it('has the v1 shape and matches the KNOWN_BACKENDS entry', () => {
    const known = KNOWN_BACKENDS.find((entry) => entry.name === 'kqueue')!;
    expect(backend.specificationVersion).toBe('v1');
    expect(backend.name).toBe('kqueue');
    expect(backend.kind).toBe('selector');
    expect(backend.packageName).toBe('@evloop/selector-kqueue');
    expect([...backend.platforms]).toEqual(['darwin', 'freebsd', 'openbsd', 'netbsd']);
    expect(backend.platforms).toEqual(known.platforms);
    expect(typeof backend.available).toBe('function');
    expect(typeof backend.createSelector).toBe('function');
    expect(backend.createProactor).toBeUndefined();
    expect(Object.isFrozen(backend)).toBe(true);
  });

  it('the package script cross-check is valid bash', () => {
    const script = fileURLToPath(new URL('../scripts/cross-check.sh', import.meta.url));
    expect(() => execFileSync('bash', ['-n', script])).not.toThrow();
  });
});

describe.skipIf(hasKqueue)(`kqueue where it does not exist (this is ${process.platform})`, () => {
  it('available() says no, names the platform and never throws', () => {
    for (let i = 0; i < 3; i++) {
      const availability = backend.available();
      expect(availability.ok).toBe(false);
      if (availability.ok) return;
      expect(availability.reason).toContain(process.platform);
      expect(availability.reason).toMatch(/macOS/);
    }
  });

  it('createSelector() and new KqueueSelector() throw a RuntimeError that says why', () => {
    for (const create of [() => backend.createSelector!(), () => new KqueueSelector()]) {
      let error: unknown;
      try {
        create();
      } catch (caught) {
        error = caught;
      }
      expect(RuntimeError.isInstance(error)).toBe(true);
      expect(String((error as Error).message)).toBe(`@evloop/selector-kqueue cannot create a selector: kqueue does not exist on ${process.platform}; it needs macOS or a BSD`);
      expect(String((error as Error).message)).toContain(process.platform);
    }
  });

  it('the install and native:build steps (evloop-native, from @evloop/native-core) build nothing and succeed', () => {
    const script = createRequire(import.meta.url).resolve('@evloop/native-core/package.json').replace(/package\.json$/, 'bin/evloop-native.mjs');
    const packageRoot = fileURLToPath(new URL('..', import.meta.url));
    for (const mode of ['install', 'build']) {
      const output = execFileSync(process.execPath, [script, mode], { cwd: packageRoot, encoding: 'utf8' });
      expect(output).toContain(`kqueue does not exist on ${process.platform}; nothing to build`);
    }
  });

  it('no addon is built here: the loader throws node-gyp-build\'s "not found" error, which available() never reaches', () => {
    let error: unknown;
    try {
      loadNative();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(Error);
    expect(String((error as Error).message)).toMatch(/^No native build was found/);
    expect(backend.available()).toEqual({ ok: false, reason: `kqueue does not exist on ${process.platform}; it needs macOS or a BSD` });
  });
});

describe.skipIf(!hasKqueue)(`kqueue on this platform (kqueue exists only on macOS/BSD, this is ${process.platform})`, () => {
  it('available() opens and closes a real kqueue', () => {
    expect(backend.available()).toEqual({ ok: true });
  });
});

describeKqueueQuirks('kqueue quirks', hasKqueue ? false : `kqueue exists only on macOS/BSD, this is ${process.platform}`, () => new KqueueSelector());
