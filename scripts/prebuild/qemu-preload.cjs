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

// A Node started through qemu takes seconds to start where a native one
// takes tens of milliseconds: a time bound given for such a child (a guard
// against hangs) is stretched by this factor.
const TIMEOUT_FACTOR = Number(process.env.EVLOOP_QEMU_TIMEOUT_FACTOR ?? 10);

const isThisNode = (file) => file === process.execPath || file === 'node' || file === process.argv0;
const stretched = (options) =>
  options && typeof options === 'object' && typeof options.timeout === 'number' && options.timeout > 0
    ? { ...options, timeout: options.timeout * TIMEOUT_FACTOR }
    : options;

for (const name of ['spawn', 'spawnSync', 'execFile', 'execFileSync']) {
  const original = childProcess[name];
  childProcess[name] = function (file, args, ...rest) {
    if (!isThisNode(file)) return original.call(this, file, args, ...rest);
    if (!Array.isArray(args)) {
      // (file, options?, callback?): no argument list
      return original.call(this, qemu, [process.execPath], stretched(args), ...rest);
    }
    const [options, ...others] = rest;
    return original.call(this, qemu, [process.execPath, ...args], stretched(options), ...others);
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
