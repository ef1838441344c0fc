// Sum the vitest JSON reports of every package and app into one closing line.
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
let passed = 0;
let failed = 0;
let skipped = 0;
const missing = [];
for (const group of ['packages', 'apps', 'tests']) {
  for (const name of fs.readdirSync(path.join(root, group))) {
    const directory = path.join(root, group, name);
    const manifest = path.join(directory, 'package.json');
    if (!fs.existsSync(manifest)) continue;
    const scripts = JSON.parse(fs.readFileSync(manifest, 'utf8')).scripts ?? {};
    if (!scripts.test) continue;
    const reportFile = path.join(directory, '.vitest-report.json');
    if (!fs.existsSync(reportFile)) {
      missing.push(`${group}/${name}`);
      continue;
    }
    const report = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    skipped += report.numPendingTests + report.numTodoTests;
  }
}
if (missing.length > 0) {
  console.log(`no test report from: ${missing.join(', ')}`);
  failed += missing.length;
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exitCode = failed > 0 ? 1 : 0;
