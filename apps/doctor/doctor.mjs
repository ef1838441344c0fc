#!/usr/bin/env node
// Which evloop backends are there, which work here, and which one the
// default policy would pick (honouring EVLOOP_BACKEND). `--json` for tools.
// `--tasks <pid>`: the task tree of a running evloop process that opted in
// with enableTaskDump() (it writes the tree when it gets SIGUSR2).
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { listBackends, resolveBackend, taskDumpPath, tlsEngine } from '@evloop/core-policy';

const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, tasks: { type: 'string' } } });

if (values.tasks !== undefined) {
  const pid = Number(values.tasks);
  if (!Number.isInteger(pid) || pid <= 0) {
    console.error(`--tasks needs the pid of an evloop process, got ${JSON.stringify(values.tasks)}`);
    process.exit(2);
  }
  const file = taskDumpPath(pid);
  fs.rmSync(file, { force: true });
  try {
    process.kill(pid, 'SIGUSR2');
  } catch (error) {
    console.error(`cannot signal process ${pid}: ${error.code ?? error.message}`);
    process.exit(1);
  }
  // The process answers between two of its callbacks; give it up to 5 s.
  for (let waited = 0; waited < 5000 && !fs.existsSync(file); waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  if (!fs.existsSync(file)) {
    console.error(`process ${pid} wrote no task dump: did it call enableTaskDump() from @evloop/core-policy?`);
    process.exit(1);
  }
  const text = fs.readFileSync(file, 'utf8');
  fs.rmSync(file, { force: true });
  process.stdout.write(values.json ? `${JSON.stringify({ pid, tasks: text.trimEnd().split('\n') }, null, 2)}\n` : text);
  process.exit(0);
}

/** The JavaScript runtime running this: Node, or Deno or Bun (which run Node-API addons and npm packages too). */
function runtime() {
  if (typeof globalThis.Deno?.version?.deno === 'string') return { name: 'deno', version: globalThis.Deno.version.deno, label: `Deno ${globalThis.Deno.version.deno}` };
  if (typeof process.versions.bun === 'string') return { name: 'bun', version: process.versions.bun, label: `Bun ${process.versions.bun}` };
  return { name: 'node', version: process.version, label: `Node ${process.version}` };
}

const running = runtime();
const reports = listBackends();
// Which TLS path connections take here (EVLOOP_TLS), and why not the native one.
let tls;
try {
  tls = tlsEngine();
} catch (error) {
  tls = { engine: null, reason: error instanceof Error ? error.message : String(error) };
}
let chosen = null;
let problem = null;
try {
  chosen = resolveBackend().name;
} catch (error) {
  problem = error instanceof Error ? error.message : String(error);
}

if (values.json) {
  const { label: _label, ...runtimeFields } = running;
  console.log(JSON.stringify({ platform: process.platform, arch: process.arch, runtime: runtimeFields, node: process.version, backends: reports, chosen, problem, tls }, null, 2));
} else {
  console.log(`evloop doctor: ${process.platform}/${process.arch}, ${running.label}${running.name === 'node' ? '' : ` (Node ${process.version} compatible)`}`);
  if (process.env.EVLOOP_BACKEND) console.log(`EVLOOP_BACKEND=${process.env.EVLOOP_BACKEND}`);
  const rows = reports.map((report) => [
    report.name,
    report.kind,
    report.preference === null ? '-' : String(report.preference + 1),
    report.installed ? `yes${report.version ? ` (${report.version})` : ''}` : 'no',
    report.available ? 'yes' : 'no',
    report.reason,
  ]);
  const header = ['backend', 'kind', 'rank', 'installed', 'usable', 'notes'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]))).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  const order = reports.filter((report) => report.preference !== null).map((report) => report.name);
  if (!process.env.EVLOOP_BACKEND && order.length > 0) {
    console.log(`preference on ${process.platform}: ${order.join(' > ')} (the first installed and usable one wins; EVLOOP_BACKEND=<name> overrides)`);
  }
  console.log(chosen ? `default policy picks: ${chosen}` : `default policy cannot run here:\n${problem}`);
  console.log(tls.engine === 'native' ? 'TLS: native (OpenSSL over memory BIOs, @evloop/tls-native)' : `TLS: ${tls.engine ?? 'none'} (${tls.reason})`);
}
process.exitCode = chosen ? 0 : 1;
