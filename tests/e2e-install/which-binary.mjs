// Prints, for each installed evloop package with a native addon, the file
// node-gyp-build loads for it (relative to node_modules), or `none` with why:
//
//   @evloop/selector-epoll node_modules/@evloop/selector-epoll/prebuilds/linux-x64/selector_epoll.napi.glibc.node
//
//   node which-binary.mjs @evloop/sys @evloop/selector-epoll ...
import { createRequire } from 'node:module';
import { dirname, relative } from 'node:path';

const require = createRequire(`${process.cwd()}/package.json`);
for (const name of process.argv.slice(2)) {
  const root = dirname(require.resolve(`${name}/package.json`));
  const nodeGypBuild = createRequire(`${root}/package.json`)('node-gyp-build');
  let file;
  try {
    file = relative(process.cwd(), nodeGypBuild.resolve(root));
  } catch (error) {
    file = `none (${error.message.split('\n')[0]})`;
  }
  console.log(`${name} ${file}`);
}
