import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packagesDirectory } from './helpers.js';

/**
 * The published declarations (dist/, built before the tests run): no
 * `@internal` member in them, and they compile for a user with library
 * checking on, so what is stripped never leaves a class that no longer
 * fits the contract it implements.
 */
const dts = path.join(packagesDirectory, 'core-policy', 'dist', 'index.d.ts');

describe('published types', () => {
  it('leave out the members marked @internal', () => {
    const text = fs.readFileSync(dts, 'utf8');
    expect(text).not.toContain('@internal');
    // Declared members, not mentions in prose.
    for (const name of ['_addCallback', '_removeCallbackOf', '_callbackOf', '_runOnce', '_callSoonHandle', '_scheduled', '_ready', '_enterTask', '_registerTransport', '_transportOf']) {
      expect(text, name).not.toMatch(new RegExp(`^\\s*(readonly |protected |abstract )*${name}\\??[(:<;]`, 'm'));
    }
    // The family hooks are the documented contract, and stay.
    expect(text).toContain('abstract _makeSocketTransport(');
  });

  it('compile in a user project with skipLibCheck off', () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'evloop-types-'));
    try {
      fs.writeFileSync(
        path.join(directory, 'user.ts'),
        [
          "import { BaseEventLoop, SelectorEventLoop, Server, SSLProtocol, Task, Future, run, openConnection, loopForBackend, SelectorSocketTransport } from '@evloop/core-policy';",
          'export const base: typeof BaseEventLoop = SelectorEventLoop;',
          'export function take(loop: BaseEventLoop): Future<unknown> { return loop.createFuture(); }',
          'export { Server, SSLProtocol, Task, run, openConnection, loopForBackend, SelectorSocketTransport };',
          '',
        ].join('\n'),
      );
      fs.writeFileSync(
        path.join(directory, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            target: 'ES2022',
            module: 'ESNext',
            moduleResolution: 'Bundler',
            types: ['node'],
            typeRoots: [path.join(packagesDirectory, '..', 'node_modules', '@types')],
            paths: {
              '@evloop/core-policy': [dts],
              '@evloop/interface': [path.join(packagesDirectory, 'interface', 'dist', 'index.d.ts')],
            },
          },
          files: ['user.ts'],
        }),
      );
      const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
      const result = spawnSync(process.execPath, [tsc, '-p', directory], { encoding: 'utf8', timeout: 60_000 });
      expect(result.stdout + result.stderr).toBe('');
      expect(result.status).toBe(0);
    } finally {
      fs.rmSync(directory, { recursive: true, force: true });
    }
  }, 60_000);
});
