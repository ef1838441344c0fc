#!/usr/bin/env node
// `pnpm test:runtimes`: the event-loop, network, streams, subprocess and TLS
// (native and JS engines) suites of the epoll, poll and select backends and
// of the uring proactor, run by vitest itself under Deno and Bun (where
// epoll and uring wait on a helper thread).
//
//   node scripts/runtimes/run.mjs [deno|bun ...] [--backend epoll|poll|select|uring ...] [--suite NAME ...]
//
// The runtimes come from npm (`@deno/linux-x64-glibc`, `@oven/bun-linux-x64`,
// pinned below with their tarball integrity), fetched with `npm pack` into a
// cache outside the repository ($EVLOOP_RUNTIMES_CACHE, else
// ~/.cache/evloop-runtimes) and never a dependency. vitest runs under the
// runtime (`bun --bun vitest`, `deno run -A vitest`); its forked workers are
// that runtime too, which a setup file checks before any test runs. Each
// suite run is bounded in time: a hang is killed and counted as a failure,
// as is a crash. Built packages are needed (`pnpm build`).
//
// Tests a runtime cannot run are listed in KNOWN_GAPS with why; they are
// skipped there (vitest -t filter) and printed, never silently dropped. Whole
// suites (SUITE_GAPS) and backends (BACKEND_GAPS) a runtime cannot run are
// printed the same way. A suite run that passes no test is a failure.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CACHE = process.env.EVLOOP_RUNTIMES_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'evloop-runtimes');
const SUITE_TIMEOUT_MS = 300_000;

/** Pinned runtimes: the npm package, version, tarball integrity and the binary inside. */
const RUNTIMES = {
  deno: {
    spec: '@deno/linux-x64-glibc@2.9.6',
    integrity: 'sha512-3md4TKLCuzsLDmfOoC5KN7NAZaxSVkMgm64vg6foD00JBADCpYS2/5QqXfzgnP5ZQz3iLP9vBQJtEgc116OAoQ==',
    binary: 'package/deno',
    vitest: (binary, vitest) => [binary, ['run', '-A', vitest]],
    script: (binary, file, args) => [binary, ['run', '-A', file, ...args]],
    check: "(globalThis.Deno !== undefined)",
  },
  bun: {
    spec: '@oven/bun-linux-x64@1.4.5',
    integrity: 'sha512-IWX9BELoGHAUtMonkeSaNaZwXzRk+oDw6Mk+HBFXd3KHYIBNBsIGRupMZPcgNoDbJpLu6gAJjIoIVPZtt1aJ1g==',
    binary: 'package/bin/bun',
    vitest: (binary, vitest) => [binary, ['--bun', vitest]],
    script: (binary, file, args) => [binary, [file, ...args]],
    check: "(typeof process.versions.bun === 'string')",
  },
};

/** The suites each backend runs: the package that holds them, and the test files. */
const SELECTOR_SUITES = ['event-loop-conformance', 'network-conformance', 'streams-conformance', 'subprocess-conformance', 'tls-conformance', 'tls-conformance-js'];
const BACKENDS = {
  epoll: { package: 'selector-epoll', suites: SELECTOR_SUITES },
  // poll has no tls-conformance-js file: the JS engine is covered on epoll and select.
  poll: { package: 'selector-poll', suites: SELECTOR_SUITES.filter((suite) => suite !== 'tls-conformance-js') },
  select: { package: 'selector-select', suites: SELECTOR_SUITES },
  uring: { package: 'proactor-uring', suites: SELECTOR_SUITES },
};

/**
 * Tests a runtime cannot run, by title, with why. Each is excluded by name
 * and listed in the output.
 */
const KNOWN_GAPS = {
  deno: {
    'an exception nobody retrieves goes to the exception handler, never to unhandledRejection':
      "the report for a failed task nobody awaited comes when the task is garbage-collected, and Deno's collector (global.gc under --expose-gc) does not collect it within the test's 50 forced collections; a lost future's exception is reported",
    'connectReadPipe on a FIFO and connectWritePipe on a socket':
      "the FIFO's fd comes from fs.openSync and the read pipe transport closes it (it owns it, as in asyncio); Deno's node:fs still holds that fd number, and the next file opened on the reused number is closed under its user (the following test's fs.writeFileSync fails with EBADF)",
    'a good certificate: data both ways, extra info, close sends close_notify':
      "Deno's node:tls TLSSocket has no exportKeyingMaterial, which the JS engine's SSLObject.exportKeyingMaterial calls",
    'an expired certificate: SSLCertVerificationError CERT_HAS_EXPIRED':
      "Deno's node:tls reports an expired certificate as UNABLE_TO_VERIFY_LEAF_SIGNATURE, not OpenSSL's CERT_HAS_EXPIRED",
    '4 MiB of writes the socket takes only part of, then close(): the peer gets every byte in order, then close_notify; connectionLost(null)':
      "the peer is Deno's node:tls server, paused until the evloop client has written 4 MiB and closed, then resumed; in about one run in four (alone or after other cases) it receives every byte but never emits 'end' (nor 'error') for the client's close_notify, which traces show leaving the client after the last record; the client then waits for the peer's close_notify, as asyncio does, until its shutdown timeout, past the test's 10 s",
    'SSLContext: defaults and the checkHostname/verifyMode rules':
      "Deno's tls.createSecureContext accepts a certificate with a key that does not belong to it, so loadCertChain(CA certificate, server key) does not throw there",
  },
  bun: {},
};

/**
 * Whole suites a runtime cannot run, with why; listed in the output, not run.
 */
const NATIVE_TLS_GAP =
  "@evloop/tls-native calls the OpenSSL inside the node binary; this runtime exports no OpenSSL_version_num (Deno's TLS is rustls, Bun's BoringSSL), so the addon reports itself unavailable and the suite would skip every test; tls-conformance-js covers TLS here";
const SUITE_GAPS = {
  deno: { 'tls-conformance': NATIVE_TLS_GAP },
  bun: { 'tls-conformance': NATIVE_TLS_GAP },
};

/**
 * Whole backends a runtime cannot run, with why; listed in the output, not run.
 */
const BACKEND_GAPS = {
  deno: {},
  bun: {},
};

function fetchRuntime(name) {
  const runtime = RUNTIMES[name];
  const directory = join(CACHE, runtime.spec.replace(/[@/]/g, '_'));
  const binary = join(directory, runtime.binary);
  if (existsSync(binary)) return binary;
  mkdirSync(directory, { recursive: true });
  console.log(`runtimes: npm pack ${runtime.spec} into ${directory}`);
  const packed = spawnSync('npm', ['pack', runtime.spec, '--silent'], { cwd: directory, encoding: 'utf8', timeout: 600_000 });
  if (packed.status !== 0) throw new Error(`npm pack ${runtime.spec} failed: ${packed.stderr}`);
  const tarball = join(directory, packed.stdout.trim().split('\n').pop());
  const digest = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  if (digest !== runtime.integrity) {
    rmSync(tarball, { force: true });
    throw new Error(`${runtime.spec}: integrity ${digest} is not the pinned ${runtime.integrity}`);
  }
  const untar = spawnSync('tar', ['-xzf', tarball, '-C', directory], { encoding: 'utf8' });
  if (untar.status !== 0) throw new Error(`unpacking ${tarball} failed: ${untar.stderr}`);
  rmSync(tarball, { force: true });
  chmodSync(binary, 0o755);
  return binary;
}

/** Runs one suite file of one backend under a runtime; resolves with how it ended. */
function runSuite(runtimeName, binary, backend, suite, setupFile, reportFile) {
  const runtime = RUNTIMES[runtimeName];
  const vitest = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
  const [command, prefix] = runtime.vitest(binary, vitest);
  const gaps = Object.keys(KNOWN_GAPS[runtimeName]);
  const cwd = join(ROOT, 'packages', BACKENDS[backend].package);
  // The package's own config, plus the setup file that checks the runtime.
  const configFile = join(dirname(setupFile), `vitest-${runtimeName}-${backend}.config.mjs`);
  writeFileSync(
    configFile,
    `import base from ${JSON.stringify(join(cwd, 'vitest.config.ts'))};\n` +
      `export default { ...base, root: ${JSON.stringify(cwd)}, test: { ...base.test, setupFiles: [${JSON.stringify(setupFile)}] } };\n`,
  );
  const args = [
    ...prefix,
    'run',
    `test/${suite}.test.ts`,
    '--config', configFile,
    '--reporter', 'dot',
    '--reporter', 'json',
    '--outputFile.json', reportFile,
  ];
  if (gaps.length > 0) args.push('--testNamePattern', `^(?!.*(${gaps.map((title) => title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})).*$`);
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, EVLOOP_EXPECT_RUNTIME: runtimeName, CI: 'true', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, SUITE_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let report;
      try {
        report = JSON.parse(readFileSync(reportFile, 'utf8'));
      } catch {
        report = undefined;
      }
      resolve({ code, signal, timedOut, output, report, seconds: Math.round((Date.now() - started) / 1000) });
    });
  });
}

async function main() {
  const argv = process.argv.slice(2);
  const chosen = argv.filter((argument) => argument in RUNTIMES);
  const backends = [];
  const suites = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--backend') backends.push(argv[++i]);
    else if (argv[i] === '--suite') suites.push(argv[++i]);
  }
  for (const backend of backends) if (!(backend in BACKENDS)) throw new RangeError(`--backend must be one of ${Object.keys(BACKENDS).join(', ')}, got ${JSON.stringify(backend)}`);
  const runtimes = chosen.length > 0 ? chosen : Object.keys(RUNTIMES);
  const backendList = backends.length > 0 ? backends : Object.keys(BACKENDS);
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    console.log(`runtimes: the pinned Deno and Bun binaries are linux-x64; this is ${process.platform}-${process.arch}: SKIPPED`);
    return;
  }
  const work = join(tmpdir(), `evloop-runtimes-${process.pid}`);
  mkdirSync(work, { recursive: true });
  const setupFile = join(work, 'runtime-check.mjs');
  const checks = Object.entries(RUNTIMES).map(([name, runtime]) => `  ${JSON.stringify(name)}: () => ${runtime.check},`).join('\n');
  writeFileSync(
    setupFile,
    `// Every worker must be the runtime under test, not Node.\nconst checks = {\n${checks}\n};\n` +
      'const expected = process.env.EVLOOP_EXPECT_RUNTIME;\n' +
      "if (!checks[expected]?.()) throw new Error(`these tests must run under ${expected}, not ${process.release?.name} ${process.version}`);\n",
  );
  const failures = [];
  try {
    for (const runtimeName of runtimes) {
      const binary = fetchRuntime(runtimeName);
      const version = spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
      console.log(`== ${runtimeName}: ${version}`);
      for (const [backend, why] of Object.entries(BACKEND_GAPS[runtimeName])) console.log(`   not run on ${runtimeName}: the ${backend} backend (${why})`);
      for (const [suite, why] of Object.entries(SUITE_GAPS[runtimeName])) console.log(`   not run on ${runtimeName}: the ${suite} suite (${why})`);
      for (const [title, why] of Object.entries(KNOWN_GAPS[runtimeName])) console.log(`   not run on ${runtimeName}: ${title} (${why})`);
      // evloop-doctor names the runtime and picks a backend there.
      const [doctorCommand, doctorArgs] = RUNTIMES[runtimeName].script(binary, join(ROOT, 'apps', 'doctor', 'doctor.mjs'), ['--json']);
      const doctor = spawnSync(doctorCommand, doctorArgs, { cwd: join(ROOT, 'apps', 'doctor'), encoding: 'utf8', timeout: 60_000, env: { ...process.env, EVLOOP_BACKEND: '' } });
      let doctorReport;
      try {
        doctorReport = JSON.parse(doctor.stdout);
      } catch {
        doctorReport = undefined;
      }
      if (doctorReport?.runtime?.name === runtimeName && doctorReport.chosen === 'epoll') {
        console.log(`ok   ${runtimeName} evloop-doctor: runtime ${doctorReport.runtime.name} ${doctorReport.runtime.version}, picks ${doctorReport.chosen}`);
      } else {
        failures.push(`${runtimeName} evloop-doctor`);
        console.log(`FAIL ${runtimeName} evloop-doctor: ${doctor.stdout}${doctor.stderr}`);
      }
      for (const backend of backendList) {
        if (backend in BACKEND_GAPS[runtimeName]) continue;
        for (const suite of BACKENDS[backend].suites) {
          if (suites.length > 0 && !suites.includes(suite)) continue;
          if (suite in SUITE_GAPS[runtimeName]) continue;
          const reportFile = join(work, `${runtimeName}-${backend}-${suite}.json`);
          const result = await runSuite(runtimeName, binary, backend, suite, setupFile, reportFile);
          const { report } = result;
          const counts = report === undefined ? 'no report' : `${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests} skipped`;
          const ok = !result.timedOut && result.code === 0 && report !== undefined && report.numFailedTests === 0 && report.numPassedTests > 0;
          const how = result.timedOut ? `TIMED OUT after ${SUITE_TIMEOUT_MS / 1000}s` : result.signal ? `killed by ${result.signal}` : `exit ${result.code}`;
          console.log(`${ok ? 'ok  ' : 'FAIL'} ${runtimeName} ${backend} ${suite}: ${counts} (${how}, ${result.seconds}s)`);
          if (!ok) {
            failures.push(`${runtimeName} ${backend} ${suite}`);
            console.log(result.output.split('\n').slice(-60).join('\n'));
          }
        }
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (failures.length > 0) {
    console.log(`runtimes: ${failures.length} suite run(s) failed: ${failures.join('; ')}`);
    process.exitCode = 1;
  } else {
    console.log('runtimes: every suite passed');
  }
}

await main();
