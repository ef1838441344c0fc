import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const directory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Run the compiled example (`pnpm build` compiles the .ts files to dist/ under strict). */
function runExample(file: string): string {
  const environment: Record<string, string | undefined> = { ...process.env };
  delete environment.EVLOOP_BACKEND;
  delete environment.EVLOOP_DEBUG;
  const script = path.join(directory, 'dist', file.replace(/\.ts$/, '.js'));
  const result = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 30_000, env: environment, cwd: directory });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return result.stdout;
}

/** Every example of docs/guide.md, with the output the guide shows. */
const expected: Record<string, string> = {
  '01-callbacks.ts': 'first\nsecond\ntimer after at least 50 ms\n',
  '02-coroutines.ts': 'generator is working\ngenerator cleans up after cancel()\nasync function cancelled inside its await\ncancelled: true true\n',
  '03-combinators.ts': "gather: [ 'a', 'b', 'c' ]\nwaitFor: timed out\nwait: 1 done, 1 pending\nshield: kept\n",
  '04-streams.ts': 'echoed: HELLO\nechoed: STREAMS\n',
  '05-protocol.ts': 'client got: ping\n',
  '06-subprocess.ts': 'through a child process (exit 0)\n',
  '07-executor.ts': 'square: 144; the loop kept ticking meanwhile: true\n',
  '08-raw-fds.ts': 'readable: bytes in a pipe\n',
  '09-errors-and-debug.ts': 'handler: Exception in callback broken(): boom\nwarning: Executing <Handle slow()> took N seconds\n',
  '10-shutdown-on-sigint.ts': 'client got: still here\nstopping on SIGINT\nclient sees EOF: true\n',
  '11-retry-with-backoff.ts':
    'attempt 1 refused; next in 0.01 s\nattempt 2 refused; next in 0.02 s\ngave up: still refused\nattempt 1 refused; next in 1 s\ngave up: deadline passed\n',
  '13-catch-all.ts': 'poller cancelled: true true\nfailures handled meanwhile: true\n',
  '12-foreign-promises.ts':
    'rawNodeTimer: TimeoutError; the Node timer had fired first: true\nabortableNodeTimer: TimeoutError; the Node timer had fired first: false\n',
  '14-structured-concurrency.ts': 'all done: a b\ngroup failed: broken failed\ntimeout: gave up after 50 ms\ngenerator finished in time\n',
  '15-testing-virtual-time.ts': 'retry: got hello after 3 attempts, 3 virtual seconds\ngave up: TimeoutError after 3 attempts, 18 virtual seconds\nreal time: well under the 21 virtual seconds\n',
  '16-node-interop.ts': 'node:http over evloop: 200 hello from-evloop\ntask cancelled: true, its Node timer stopped with it\n',
  '18-priority-data.ts': 'urgent: !\n',
  '17-introspection.ts': 'observed some iterations; 5 callbacks among at least 5 run\nmain [pending]\n  worker [pending] awaiting <Future pending> at 17-introspection.js:21\n',
};

describe('docs/guide.md examples', () => {
  const guide = fs.readFileSync(path.join(directory, '..', '..', 'docs', 'guide.md'), 'utf8');
  for (const [file, output] of Object.entries(expected)) {
    it(`${file} prints what the guide says, and the guide shows this very file`, () => {
      expect(runExample(file)).toBe(output);
      expect(guide).toContain(fs.readFileSync(path.join(directory, file), 'utf8').trim());
      expect(guide).toContain(`Prints:\n\n\`\`\`\n${output}\`\`\``);
    });
  }
});

/** What the type test forbids: a program should not need to overrule the types. */
const overrules: Array<[string, RegExp]> = [
  ['an `as` cast', /\bas\s+(?!const\b)[\w{[(]/],
  ['a `<T>` cast', /[=(,]\s*<[A-Z]\w*>/],
  ['a non-null `!`', /[\w)\]]!(?!=)/],
  ['a @ts- comment', /@ts-/],
  ['an `any`', /\bany\b/],
];

describe('docs/guide.md shows no TypeScript that is not an example', () => {
  it('every ts block of the guide is one of the example files, so every one is compiled and run', () => {
    const guide = fs.readFileSync(path.join(directory, '..', '..', 'docs', 'guide.md'), 'utf8');
    const blocks = [...guide.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!.trim());
    const files = Object.keys(expected).map((file) => fs.readFileSync(path.join(directory, file), 'utf8').trim());
    expect(blocks.filter((block) => !files.includes(block))).toEqual([]);
    expect(blocks.length).toBe(files.length);
  });
});

describe('docs/guide.md examples are TypeScript that needs no overruling', () => {
  for (const file of Object.keys(expected)) {
    it(`${file} has no cast, no non-null assertion, no any`, () => {
      const lines = fs.readFileSync(path.join(directory, file), 'utf8').split('\n');
      const found: string[] = [];
      lines.forEach((line, index) => {
        if (line.trimStart().startsWith('//') || line.trimStart().startsWith('import ')) return;
        const code = line.replace(/\s\/\/ .*$/, '');
        for (const [what, pattern] of overrules) if (pattern.test(code)) found.push(`${file}:${index + 1}: ${what}: ${line.trim()}`);
      });
      expect(found).toEqual([]);
    });
  }
});
