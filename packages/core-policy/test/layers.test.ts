import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The layer rule written at the top of src/index.ts: a file under src/ may
 * import from its own folder and from folders earlier in LAYERS, never from
 * a later one. The one exception is a type-only import of the loop class
 * itself (base/base-event-loop.ts): every layer talks to "the loop" it is
 * given, as every asyncio module refers to the loop base_events defines;
 * types are erased at build time, so this adds no load-time dependency.
 */
const LAYERS = ['loop', 'futures', 'net', 'tls', 'base', 'streams', 'subprocess', 'selector', 'proactor', 'policy'] as const;
const LOOP_TYPE = 'base/base-event-loop.ts';

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src');

interface ImportEdge {
  file: string;
  target: string;
  typeOnly: boolean;
  line: number;
  text: string;
}

function sourceFiles(directory: string): string[] {
  return fs.readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Whether the clause is only `{ ... }` and every name in it is marked `type`. */
function allSpecifiersTyped(clause: string): boolean {
  const braces = /^\{([\s\S]*)\}$/.exec(clause.trim());
  if (braces === null) return false;
  const names = braces[1]!.split(',').map((name) => name.trim()).filter((name) => name !== '');
  return names.length > 0 && names.every((name) => name.startsWith('type '));
}

/** The relative imports and re-exports of a file (static, side-effect and dynamic). */
function importsOf(file: string, text: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  const lineOf = (index: number) => text.slice(0, index).split('\n').length;
  const statement = /^[ \t]*(import|export)\s+(type\s+)?([^;'"]*?)\s*from\s*'([^']+)'/gm;
  for (const match of text.matchAll(statement)) {
    const [whole, , typeKeyword, clause, specifier] = match;
    if (!specifier!.startsWith('.')) continue;
    const typeOnly = typeKeyword !== undefined || allSpecifiersTyped(clause!);
    edges.push({ file, target: path.resolve(path.dirname(file), specifier!), typeOnly, line: lineOf(match.index!), text: whole!.replace(/\s+/g, ' ') });
  }
  for (const match of text.matchAll(/^[ \t]*import\s*'([^']+)'/gm)) {
    if (match[1]!.startsWith('.')) edges.push({ file, target: path.resolve(path.dirname(file), match[1]!), typeOnly: false, line: lineOf(match.index!), text: match[0] });
  }
  for (const match of text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) {
    if (match[1]!.startsWith('.')) edges.push({ file, target: path.resolve(path.dirname(file), match[1]!), typeOnly: false, line: lineOf(match.index!), text: match[0] });
  }
  return edges;
}

/** The layer index of a file under src/: LAYERS.length for src/index.ts (the entry, above every layer), -1 outside the layers. */
function layerOf(file: string): number {
  const relative = path.relative(src, file);
  if (!relative.includes(path.sep)) return relative === 'index.ts' ? LAYERS.length : -1;
  return LAYERS.indexOf(relative.split(path.sep)[0] as (typeof LAYERS)[number]);
}

function toSource(target: string): string {
  return target.replace(/\.js$/, '.ts');
}

function violations(files: string[]): string[] {
  return files.flatMap((file) => violationsIn(file, fs.readFileSync(file, 'utf8')));
}

/** What is wrong with the imports of `file` (under src/) if its text were `text`. */
function violationsIn(file: string, text: string): string[] {
  const found: string[] = [];
  const from = layerOf(file);
  const relativeFile = path.relative(src, file);
  if (from < 0) return [`${relativeFile}: not in a layer folder (${LAYERS.join(', ')})`];
  for (const edge of importsOf(file, text)) {
    const target = toSource(edge.target);
    const relativeTarget = path.relative(src, target);
    if (!fs.existsSync(target)) {
      found.push(`${relativeFile}:${edge.line}: imports a file that does not exist: ${edge.text}`);
      continue;
    }
    const to = layerOf(target);
    if (to <= from) continue;
    if (edge.typeOnly && relativeTarget === path.normalize(LOOP_TYPE)) continue;
    found.push(`${relativeFile}:${edge.line}: layer ${LAYERS[from]} imports ${relativeTarget} from the later layer ${LAYERS[to] ?? 'index'}: ${edge.text}`);
  }
  return found;
}

describe('layers of core-policy/src', () => {
  it('every import points to the same layer or an earlier one (only the loop type may be named from below)', () => {
    const files = sourceFiles(src).filter((file) => file !== path.join(src, 'index.ts'));
    expect(files.length).toBeGreaterThan(30);
    expect(violations(files)).toEqual([]);
  });

  it('the index comment lists the layers in the order this test enforces', () => {
    const index = fs.readFileSync(path.join(src, 'index.ts'), 'utf8');
    const listed = [...index.matchAll(/^ \*\s+\d+\.\s+([a-z]+)\//gm)].map((match) => match[1]);
    expect(listed).toEqual([...LAYERS]);
  });

  it('catches an upward import, and lets a type-only import of the loop class through', () => {
    const file = path.join(src, 'loop', 'handles.ts');
    const upward = [
      "import { SelectorEventLoop } from '../selector/selector-event-loop.js';",
      "import type { Server } from '../base/server.js';",
      "export { Server } from '../base/server.js';",
      "import Default, { type Server } from '../base/server.js';",
      "const lazy = import('../policy/run.js');",
    ].join('\n');
    expect(violationsIn(file, upward)).toEqual([
      "loop/handles.ts:1: layer loop imports selector/selector-event-loop.ts from the later layer selector: import { SelectorEventLoop } from '../selector/selector-event-loop.js'",
      "loop/handles.ts:2: layer loop imports base/server.ts from the later layer base: import type { Server } from '../base/server.js'",
      "loop/handles.ts:3: layer loop imports base/server.ts from the later layer base: export { Server } from '../base/server.js'",
      "loop/handles.ts:4: layer loop imports base/server.ts from the later layer base: import Default, { type Server } from '../base/server.js'",
      "loop/handles.ts:5: layer loop imports policy/run.ts from the later layer policy: import('../policy/run.js')",
    ]);
    const allowed = [
      "import type { BaseEventLoop } from '../base/base-event-loop.js';",
      "import { type BaseEventLoop } from '../base/base-event-loop.js';",
      "import { Queue } from './ready-queue.js';",
    ].join('\n');
    expect(violationsIn(file, allowed)).toEqual([]);
    expect(violationsIn(file, "import { BaseEventLoop } from '../base/base-event-loop.js';")).toHaveLength(1);
  });
});
