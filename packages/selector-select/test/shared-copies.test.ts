// @evloop/selector-poll and @evloop/selector-select are published separately,
// so the code they share (the idle-thread waiter, the Node-API glue, the
// idle-thread tests, the node-gyp wrapper) is copied into each rather than
// put in a third package. In the repository, this test keeps the copies equal.
// This file is itself one of the copies.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SHARED = ['src/native/idle_waiter.h', 'src/native/selector_wrap.h', 'test/shared-copies.test.ts', 'scripts/node-gyp.mjs'];

const here = fileURLToPath(new URL('..', import.meta.url));
const siblingName = basename(here) === 'selector-poll' ? 'selector-select' : 'selector-poll';
const sibling = join(here, '..', siblingName);
const noSibling = existsSync(join(sibling, 'package.json')) ? false : `no ${siblingName} package beside this one`;

describe(`files shared with ${siblingName}`, () => {
  for (const file of SHARED) {
    it.skipIf(noSibling)(`${file} is the same in both packages${noSibling ? ` (skipped: ${noSibling})` : ''}`, () => {
      expect(readFileSync(join(here, file), 'utf8')).toBe(readFileSync(join(sibling, file), 'utf8'));
    });
  }
});
