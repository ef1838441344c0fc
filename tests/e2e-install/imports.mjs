// Every @evloop package this project depends on loads, by import and by
// require, from the project's own node_modules as its layout put them (npm's
// hoisted one or pnpm's isolated one), and each backend gives its sockets
// module (`backend.sys`, its own optional dependency). Prints one line per
// package; on any failure prints it and exits 1.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const names = Object.keys(manifest.dependencies ?? {}).filter((name) => name.startsWith('@evloop/')).sort();
let failed = false;
for (const name of names) {
  try {
    const imported = await import(name);
    const required = require(name);
    let line = `${name}: import ok, require ok`;
    const backend = imported.backend ?? required.backend;
    if (backend !== undefined) {
      const availability = backend.available();
      line += `, available=${availability.ok}`;
      if (availability.ok) {
        const sys = backend.sys;
        if (sys === undefined || typeof sys.Socket !== 'function') throw new Error(`${name}: backend.sys is ${sys === undefined ? 'undefined' : 'not @evloop/sys'}`);
        line += ', backend.sys ok';
      }
    }
    console.log(line);
  } catch (error) {
    console.log(`${name}: FAILED ${error?.stack ?? error}`);
    failed = true;
  }
}
if (failed) process.exitCode = 1;
