// Preloaded (node --require) into an arm64 Node run by qemu-user on an x86_64
// host where binfmt_misc is not set up: the kernel cannot start an arm64
// program by itself, so a child process that would run this Node
// (process.execPath) is started through qemu instead, with the same
// arguments. Every other command (sh, openssl, an x86_64 esbuild) runs
// natively as before. The emulator comes from EVLOOP_QEMU.
'use strict';
const childProcess = require('node:child_process');
const { syncBuiltinESMExports } = require('node:module');

const qemu = process.env.EVLOOP_QEMU;
if (!qemu) throw new Error('qemu-preload: EVLOOP_QEMU is not set');

const isThisNode = (file) => file === process.execPath || file === 'node' || file === process.argv0;
function rewrite(file, args) {
  if (!isThisNode(file)) return [file, args];
  return [qemu, [process.execPath, ...(Array.isArray(args) ? args : [])]];
}

for (const name of ['spawn', 'spawnSync', 'execFile', 'execFileSync']) {
  const original = childProcess[name];
  childProcess[name] = function (file, args, ...rest) {
    if (!Array.isArray(args)) {
      // (file, options?, callback?): no argument list
      if (!isThisNode(file)) return original.call(this, file, args, ...rest);
      return original.call(this, qemu, [process.execPath], args, ...rest);
    }
    const [command, commandArgs] = rewrite(file, args);
    return original.call(this, command, commandArgs, ...rest);
  };
}
// fork() always starts process.execPath: send it through qemu too.
const originalFork = childProcess.fork;
childProcess.fork = function (modulePath, args, options) {
  if (!Array.isArray(args)) [args, options] = [[], args];
  const execArgv = options?.execArgv ?? process.execArgv;
  return originalFork.call(this, modulePath, args, { ...options, execPath: qemu, execArgv: [process.execPath, ...execArgv] });
};
syncBuiltinESMExports();
