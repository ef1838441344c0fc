// Reads a package's binding.gyp the way node-gyp would for one target
// platform, and returns what a compiler needs: sources, include dirs,
// defines and flags. binding.gyp stays the single description of each addon;
// this reader understands the subset of gyp the evloop addons use (variables,
// `<!(command)` expansions, conditions, includes, dependencies on another
// .gyp file's target, list filters `key!`/`key+`/`key=`/`key?`) and refuses
// anything else by name, so a new construct fails loudly instead of being
// built wrong.
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';

/** Parses gyp's Python-literal syntax: dicts, lists, 'single' or "double" strings, numbers, # comments, trailing commas. */
export function parseGyp(text, file = 'binding.gyp') {
  let position = 0;
  const fail = (message) => {
    const line = text.slice(0, position).split('\n').length;
    throw new SyntaxError(`${file}:${line}: ${message}`);
  };
  const skip = () => {
    for (;;) {
      while (position < text.length && /\s/.test(text[position])) position++;
      if (text[position] !== '#') return;
      while (position < text.length && text[position] !== '\n') position++;
    }
  };
  const value = () => {
    skip();
    const character = text[position];
    if (character === '{') return container('}', true);
    if (character === '[') return container(']', false);
    if (character === "'" || character === '"') return string(character);
    const number = /^-?\d+/.exec(text.slice(position));
    if (number) {
      position += number[0].length;
      return Number(number[0]);
    }
    const word = /^(True|False|None)\b/.exec(text.slice(position));
    if (word) {
      position += word[0].length;
      return { True: true, False: false, None: null }[word[0]];
    }
    return fail(`unexpected ${JSON.stringify(character ?? 'end of file')}`);
  };
  const string = (quote) => {
    position++;
    let result = '';
    while (text[position] !== quote) {
      if (position >= text.length) fail('unterminated string');
      if (text[position] === '\\') {
        position++;
        const escaped = text[position];
        result += { n: '\n', t: '\t', '\\': '\\', "'": "'", '"': '"' }[escaped] ?? `\\${escaped}`;
      } else {
        result += text[position];
      }
      position++;
    }
    position++;
    // Adjacent literals concatenate, as in Python.
    skip();
    if (text[position] === "'" || text[position] === '"') return result + string(text[position]);
    return result;
  };
  const container = (close, isDict) => {
    position++;
    const result = isDict ? {} : [];
    for (;;) {
      skip();
      if (text[position] === close) {
        position++;
        return result;
      }
      if (isDict) {
        const key = value();
        if (typeof key !== 'string') fail('a dict key must be a string');
        skip();
        if (text[position] !== ':') fail(`expected ':' after ${JSON.stringify(key)}`);
        position++;
        result[key] = value();
      } else {
        result.push(value());
      }
      skip();
      if (text[position] === ',') position++;
      else if (text[position] !== close) fail(`expected ',' or '${close}'`);
    }
  };
  const result = value();
  skip();
  if (position < text.length) fail('trailing text');
  return result;
}

/**
 * Evaluates a gyp condition (a Python expression over gyp variables):
 * `OS=='mac' or OS=='freebsd'`, `target_arch!="arm64" and not x`, parentheses,
 * string and number literals. Unknown variables are an error.
 */
export function evaluateCondition(expression, variables) {
  const tokens = [];
  const pattern = /\s*(?:(==|!=|<=|>=|<|>|\(|\))|'([^']*)'|"([^"]*)"|(-?\d+)|([A-Za-z_][A-Za-z0-9_]*))/y;
  let match;
  let index = 0;
  while (index < expression.length && (match = pattern.exec(expression))) {
    index = pattern.lastIndex;
    if (match[1]) tokens.push({ op: match[1] });
    else if (match[2] !== undefined || match[3] !== undefined) tokens.push({ value: match[2] ?? match[3] });
    else if (match[4] !== undefined) tokens.push({ value: Number(match[4]) });
    else if (['and', 'or', 'not'].includes(match[5])) tokens.push({ op: match[5] });
    else if (match[5] === 'True' || match[5] === 'False') tokens.push({ value: match[5] === 'True' });
    else {
      if (!(match[5] in variables)) throw new Error(`gyp condition ${JSON.stringify(expression)}: unknown variable ${match[5]}`);
      tokens.push({ value: variables[match[5]] });
    }
  }
  if (expression.slice(index).trim() !== '') throw new Error(`gyp condition ${JSON.stringify(expression)}: cannot read ${JSON.stringify(expression.slice(index))}`);
  let at = 0;
  const peek = () => tokens[at]?.op;
  const or = () => {
    let left = and();
    while (peek() === 'or') {
      at++;
      const right = and();
      left = Boolean(left) || Boolean(right);
    }
    return left;
  };
  const and = () => {
    let left = not();
    while (peek() === 'and') {
      at++;
      const right = not();
      left = Boolean(left) && Boolean(right);
    }
    return left;
  };
  const not = () => {
    if (peek() === 'not') {
      at++;
      return !not();
    }
    return comparison();
  };
  const comparison = () => {
    const left = primary();
    const op = peek();
    if (!['==', '!=', '<', '>', '<=', '>='].includes(op)) return left;
    at++;
    const right = primary();
    // Python compares a string and a number as unequal; gyp variables that
    // hold numbers are often strings, so compare those as numbers.
    const numeric = typeof left === 'number' || typeof right === 'number';
    const [a, b] = numeric ? [Number(left), Number(right)] : [left, right];
    if (op === '==') return a === b;
    if (op === '!=') return a !== b;
    if (op === '<') return a < b;
    if (op === '>') return a > b;
    if (op === '<=') return a <= b;
    return a >= b;
  };
  const primary = () => {
    const token = tokens[at++];
    if (token === undefined) throw new Error(`gyp condition ${JSON.stringify(expression)}: ends too early`);
    if (token.op === '(') {
      const inner = or();
      if (tokens[at++]?.op !== ')') throw new Error(`gyp condition ${JSON.stringify(expression)}: missing ')'`);
      return inner;
    }
    if (token.op) throw new Error(`gyp condition ${JSON.stringify(expression)}: unexpected ${token.op}`);
    return token.value;
  };
  const result = or();
  if (at !== tokens.length) throw new Error(`gyp condition ${JSON.stringify(expression)}: unexpected ${tokens[at].op ?? tokens[at].value}`);
  return Boolean(result);
}

const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

/** gyp's MergeDicts: lists append (`key+` prepends, `key=` replaces, `key?` sets when absent), dicts merge, scalars replace. */
export function mergeInto(target, source) {
  for (const [rawKey, value] of Object.entries(source)) {
    const suffix = /[+=?]$/.test(rawKey) && !rawKey.endsWith('!') ? rawKey.at(-1) : '';
    const key = suffix ? rawKey.slice(0, -1) : rawKey;
    if (suffix === '?' && key in target) continue;
    if (Array.isArray(value)) {
      const current = Array.isArray(target[key]) && suffix !== '=' ? target[key] : [];
      target[key] = suffix === '+' ? [...value, ...current] : [...current, ...value];
    } else if (isObject(value)) {
      target[key] = mergeInto(isObject(target[key]) && suffix !== '=' ? target[key] : {}, value);
    } else {
      target[key] = value;
    }
  }
  return target;
}

/** Dicts of plain settings: expanded as values, never read for variables or conditions. */
const SETTINGS_DICTS = new Set(['xcode_settings', 'msvs_settings', 'msbuild_settings']);

/** Keys a target may carry; anything else is refused by name. */
const TARGET_KEYS = new Set([
  'target_name', 'type', 'sources', 'include_dirs', 'defines', 'cflags', 'cflags_c', 'cflags_cc', 'ldflags',
  'libraries', 'link_settings', 'xcode_settings', 'msvs_settings', 'msbuild_settings', 'dependencies',
  'direct_dependent_settings', 'all_dependent_settings', 'export_dependent_settings', 'variables',
  'product_dir', 'product_extension', 'product_name', 'defines!', 'cflags!', 'cflags_cc!', 'cflags_c!',
  'sources!', 'include_dirs!', 'ldflags!', 'libraries!', 'win_delay_load_hook', 'default_configuration',
]);

/**
 * Reads `gypFile` for one platform and returns every buildable target:
 * `{ name, type, sources, includeDirs, defines, cflags, cflagsC, cflagsCC, ldflags, libraries, xcodeSettings }`,
 * with paths absolute. `variables` must give at least `OS` ('linux', 'mac',
 * 'win') and `target_arch` ('x64', 'arm64'). Options: `defaults`, settings
 * merged under every target of `gypFile` first (node-gyp's own defaults, so
 * that a target's `cflags_cc!` can remove one of them); `environment`, the
 * one `<!(command)` expansions run in (with the .gyp file's folder as cwd).
 */
export function readBindingGyp(gypFile, variables, { defaults = {}, environment = process.env } = {}) {
  const files = new Map();
  const load = (file) => {
    if (!files.has(file)) files.set(file, parseGyp(readFileSync(file, 'utf8'), file));
    return structuredClone(files.get(file));
  };

  // Expands `<(var)`, `<@(var)`, `<!(command)` and `<!@(command)`; `@` forms
  // expand a list item into several items.
  const expandString = (text, scope, directory) => {
    if (/>!?@?\(/.test(text)) throw new Error(`${gypFile}: late expansion in ${JSON.stringify(text)} is not supported`);
    let list = false;
    let replaced = '';
    let index = 0;
    for (;;) {
      const start = text.slice(index).search(/<!?@?\(/);
      if (start < 0) break;
      replaced += text.slice(index, index + start);
      let cursor = index + start + 1;
      const bang = text[cursor] === '!';
      if (bang) cursor++;
      const at = text[cursor] === '@';
      if (at) cursor++;
      let depth = 0;
      let end = cursor;
      for (; end < text.length; end++) {
        if (text[end] === '(') depth++;
        else if (text[end] === ')' && --depth === 0) break;
      }
      if (end >= text.length) throw new Error(`${gypFile}: unbalanced parentheses in ${JSON.stringify(text)}`);
      const body = text.slice(cursor + 1, end);
      let output;
      if (bang) {
        output = execSync(body, { cwd: directory, env: environment, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
      } else {
        if (!(body in scope)) throw new Error(`${gypFile}: unknown variable ${body} in ${JSON.stringify(text)}`);
        output = Array.isArray(scope[body]) ? scope[body].join(' ') : String(scope[body]);
      }
      if (at) list = true;
      replaced += output;
      index = end + 1;
    }
    replaced += text.slice(index);
    return list ? replaced.split(/\s+/).filter(Boolean) : [replaced];
  };
  const expand = (value, scope, directory) => {
    if (typeof value === 'string') {
      const expanded = expandString(value, scope, directory);
      return expanded.length === 1 ? expanded[0] : expanded.join(' ');
    }
    if (Array.isArray(value)) return value.flatMap((item) => (typeof item === 'string' ? expandString(item, scope, directory) : [expand(item, scope, directory)]));
    if (isObject(value)) {
      const result = {};
      for (const [key, item] of Object.entries(value)) result[key] = expand(item, scope, directory);
      return result;
    }
    return value;
  };

  // Variables (with `name%` defaults), includes, then conditions, in place.
  const process = (dict, scope, directory) => {
    if (dict.variables) {
      const ownScope = { ...scope };
      const variableDict = dict.variables;
      for (const [rawKey, rawValue] of Object.entries(variableDict)) {
        if (rawKey === 'conditions') continue;
        const key = rawKey.endsWith('%') ? rawKey.slice(0, -1) : rawKey;
        if (rawKey.endsWith('%') && key in scope) continue;
        ownScope[key] = expand(rawValue, ownScope, directory);
      }
      Object.assign(scope, ownScope);
      delete dict.variables;
    }
    for (const include of dict.includes ?? []) {
      const file = resolve(directory, expand(include, scope, directory));
      const included = load(file);
      process(included, scope, dirname(file));
      absolutize(included, dirname(file));
      mergeInto(dict, included);
    }
    delete dict.includes;
    // Conditions are expanded when chosen; nested settings blocks by their
    // own pass below (they may carry their own variables).
    for (const [key, value] of Object.entries(dict)) {
      if (key === 'conditions' || key === 'target_conditions' || key === 'targets') continue;
      if (isObject(value) && !SETTINGS_DICTS.has(key)) continue;
      dict[key] = expand(value, scope, directory);
    }
    for (const key of ['conditions', 'target_conditions']) {
      const conditions = dict[key] ?? [];
      delete dict[key];
      for (const condition of conditions) {
        // [expression, then, (expression, then)*, else?]
        for (let index = 0; index < condition.length; index += 2) {
          if (index === condition.length - 1) {
            chosen(condition[index]);
            break;
          }
          if (evaluateCondition(condition[index], scope)) {
            chosen(condition[index + 1]);
            break;
          }
        }
      }
    }
    function chosen(branch) {
      const copy = structuredClone(branch);
      process(copy, scope, directory);
      mergeInto(dict, copy);
    }
    for (const [key, value] of Object.entries(dict)) {
      if (isObject(value) && !SETTINGS_DICTS.has(key)) process(value, { ...scope }, directory);
    }
    return dict;
  };

  // Paths in settings taken from another .gyp file are relative to that file.
  const absolutize = (dict, directory) => {
    for (const key of ['include_dirs', 'include_dirs+', 'sources', 'sources+']) {
      if (Array.isArray(dict[key])) dict[key] = dict[key].map((path) => (isAbsolute(path) ? path : resolve(directory, path)));
    }
    return dict;
  };

  const applyFilters = (dict) => {
    for (const key of Object.keys(dict)) {
      if (key.endsWith('!')) {
        const base = key.slice(0, -1);
        const remove = new Set(dict[key]);
        if (Array.isArray(dict[base])) dict[base] = dict[base].filter((item) => !remove.has(item));
        delete dict[key];
      } else if (key.endsWith('/')) {
        throw new Error(`${gypFile}: regular-expression list filters (${key}) are not supported`);
      } else if (isObject(dict[key])) {
        applyFilters(dict[key]);
      }
    }
    return dict;
  };

  const targetsOf = (file, scope) => {
    const root = load(file);
    const directory = dirname(file);
    const targetDefaults = root.target_defaults ?? {};
    delete root.target_defaults;
    const fileScope = { ...scope };
    process(root, fileScope, directory);
    return (root.targets ?? []).map((raw) => {
      const target = mergeInto(structuredClone(targetDefaults), raw);
      const targetScope = { ...fileScope };
      process(target, targetScope, directory);
      if (target.configurations) {
        if (target.configurations.Release) mergeInto(target, target.configurations.Release);
        delete target.configurations;
      }
      absolutize(target, directory);
      return { target, scope: targetScope, directory, file };
    });
  };

  // A dependency's direct/all dependent settings flow into its dependents.
  const settingsFrom = (dependency, fromDirectory, scope, seen) => {
    const [fileText, name] = dependency.includes(':') ? dependency.split(/:(?=[^:]*$)/) : [null, dependency];
    const file = fileText ? resolve(fromDirectory, fileText) : gypFile;
    const key = `${file}:${name}`;
    if (seen.has(key)) return [];
    seen.add(key);
    const found = targetsOf(file, scope).find(({ target }) => target.target_name === name);
    if (!found) throw new Error(`${gypFile}: dependency ${dependency}: no target ${name} in ${file}`);
    const settings = [];
    for (const settingsKey of ['direct_dependent_settings', 'all_dependent_settings']) {
      const block = found.target[settingsKey];
      if (block) settings.push(absolutize(process(structuredClone(block), { ...found.scope }, found.directory), found.directory));
    }
    for (const nested of found.target.dependencies ?? []) {
      for (const block of settingsFrom(nested, found.directory, scope, seen)) settings.push(block);
    }
    return settings;
  };

  const scope = { module_root_dir: dirname(gypFile), ...variables };
  return targetsOf(gypFile, scope).map(({ target: own, directory, scope: targetScope }) => {
    const target = mergeInto(structuredClone(defaults), own);
    for (const dependency of target.dependencies ?? []) {
      for (const block of settingsFrom(dependency, directory, targetScope, new Set())) mergeInto(target, block);
    }
    applyFilters(target);
    for (const key of Object.keys(target)) {
      if (!TARGET_KEYS.has(key)) throw new Error(`${gypFile}: target ${target.target_name}: the prebuild script does not understand "${key}"`);
    }
    const link = target.link_settings ?? {};
    return {
      name: target.target_name,
      type: target.type ?? 'loadable_module',
      sources: target.sources ?? [],
      includeDirs: (target.include_dirs ?? []).map((path) => (isAbsolute(path) ? path : resolve(directory, path))),
      defines: target.defines ?? [],
      cflags: target.cflags ?? [],
      cflagsC: target.cflags_c ?? [],
      cflagsCC: target.cflags_cc ?? [],
      ldflags: [...(target.ldflags ?? []), ...(link.ldflags ?? [])],
      libraries: [...(target.libraries ?? []), ...(link.libraries ?? [])],
      xcodeSettings: target.xcode_settings ?? {},
    };
  });
}
