#!/usr/bin/env node
// Which evloop backends are there, which work here, and which one the
// default policy would pick (honouring EVLOOP_BACKEND). `--json` for tools.
import { parseArgs } from 'node:util';
import { listBackends, resolveBackend } from '@evloop/core-policy';

const { values } = parseArgs({ options: { json: { type: 'boolean', default: false } } });

const reports = listBackends();
let chosen = null;
let problem = null;
try {
  chosen = resolveBackend().name;
} catch (error) {
  problem = error instanceof Error ? error.message : String(error);
}

if (values.json) {
  console.log(JSON.stringify({ platform: process.platform, arch: process.arch, node: process.version, backends: reports, chosen, problem }, null, 2));
} else {
  console.log(`evloop doctor: ${process.platform}/${process.arch}, Node ${process.version}`);
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
  console.log(chosen ? `default policy picks: ${chosen}` : `default policy cannot run here:\n${problem}`);
}
process.exitCode = chosen ? 0 : 1;
