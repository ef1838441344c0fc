// Preloaded (NODE_OPTIONS=--require) into node.exe under Wine: points
// node-gyp-build at the cross-compiled addons in EVLOOP_WIN_ADDONS, one
// folder per package, by setting its <NAME>_PREBUILD variable (the package
// name upper-cased, '-' as '_': "@EVLOOP/SYS_PREBUILD"). Wine drops such
// names from the Linux environment, so they are set here, in the process.
'use strict';
const { existsSync, readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const addons = process.env.EVLOOP_WIN_ADDONS;
if (addons && existsSync(addons)) {
  for (const folder of readdirSync(addons)) {
    const manifest = join(addons, folder, 'package.json');
    if (!existsSync(manifest)) continue;
    const name = JSON.parse(readFileSync(manifest, 'utf8')).name.toUpperCase().replace(/-/g, '_');
    process.env[`${name}_PREBUILD`] = join(addons, folder);
  }
}
