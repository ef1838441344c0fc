import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BaseEventLoop } from '../base/base-event-loop.js';
import { getRunningLoop } from '../loop/running-loop.js';
import { state } from '../loop/thread-state.js';
import type { Future } from './future.js';
import { allTasks, type Task } from './task.js';

/** One task in `taskTree()`. */
export interface TaskNode {
  name: string;
  /** `'pending'`, or `'cancelling'` while cancellation requests are pending. */
  state: 'pending' | 'cancelling';
  /** `task.cancelling()`. */
  cancelling: number;
  /** What the task waits on now (`<Future pending>`, `<Task child pending>`), or null between steps. */
  awaiting: string | null;
  /**
   * Where in the code it waits (`file:line:column`), known in debug mode
   * (`loop.setDebug(true)` or `EVLOOP_DEBUG=1`) for generator coroutines and
   * for futures made in the coroutine; null otherwise.
   */
  location: string | null;
  /** The tasks made while this one was running, that are still pending. */
  children: TaskNode[];
}

/** The frames of evloop itself and of Node, which say nothing about the caller's code. */
const INTERNAL_FRAME = /[\\/]core-policy[\\/](src|dist)[\\/]|\(node:|at node:|[\\/]node_modules[\\/]\.pnpm[\\/]|<anonymous>/;

function firstUserFrame(stack: string | undefined): string | null {
  if (stack === undefined) return null;
  for (const line of stack.split('\n').slice(1)) {
    const text = line.trim();
    if (!text.startsWith('at ') || INTERNAL_FRAME.test(text)) continue;
    const location = /\(([^()]+)\)$/.exec(text)?.[1] ?? text.slice(3);
    return location;
  }
  return null;
}

function describeWaiter(waiter: Future<unknown> | null): { awaiting: string | null; location: string | null } {
  if (waiter === null) return { awaiting: null, location: null };
  return { awaiting: waiter.toString(), location: firstUserFrame(waiter._awaitedFrom ?? waiter._sourceTraceback) };
}

/**
 * The pending tasks of `loop` (default: the running loop) as a tree: each
 * task under the task that was running when it was made, with what it waits
 * on. Roots are tasks made outside any task (or whose parent is done).
 */
export function taskTree(loop?: BaseEventLoop): TaskNode[] {
  const target = loop ?? (getRunningLoop() as BaseEventLoop);
  const tasks = [...allTasks(target)];
  const nodes = new Map<Task<unknown>, TaskNode>();
  for (const task of tasks) {
    const count = task.cancelling();
    nodes.set(task, { name: task.getName(), state: count > 0 ? 'cancelling' : 'pending', cancelling: count, ...describeWaiter(task._waiter), children: [] });
  }
  const roots: TaskNode[] = [];
  for (const task of tasks) {
    const parent = task._parent === null ? undefined : nodes.get(task._parent);
    (parent?.children ?? roots).push(nodes.get(task)!);
  }
  return roots;
}

/** `taskTree()` as text, one task a line, children indented. */
export function formatTaskTree(loop?: BaseEventLoop): string {
  const lines: string[] = [];
  const walk = (nodes: TaskNode[], depth: number) => {
    for (const node of nodes) {
      let line = `${'  '.repeat(depth)}${node.name} [${node.state}${node.cancelling > 0 ? ` ${node.cancelling}` : ''}]`;
      if (node.awaiting !== null) line += ` awaiting ${node.awaiting}`;
      if (node.location !== null) line += ` at ${node.location}`;
      lines.push(line);
      walk(node.children, depth + 1);
    }
  };
  walk(taskTree(loop), 0);
  return lines.length === 0 ? '(no pending tasks)' : lines.join('\n');
}

/** Where `enableTaskDump` writes for process `pid` (what `evloop-doctor --tasks <pid>` reads). */
export function taskDumpPath(pid: number = process.pid): string {
  if (!Number.isInteger(pid) || pid <= 0) throw new RangeError(`pid must be a positive integer, got ${pid}`);
  return path.join(os.tmpdir(), `evloop-tasks-${pid}.txt`);
}

/**
 * Opt in to `evloop-doctor --tasks <pid>`: on `signal` (default SIGUSR2;
 * Node keeps SIGUSR1 for its inspector) this process writes the task tree
 * of its running loop to `taskDumpPath()`. Returns a function that opts out.
 * Main thread only, where signals arrive.
 */
export function enableTaskDump(options: { signal?: NodeJS.Signals } = {}): () => void {
  const signal = options.signal ?? 'SIGUSR2';
  if (typeof signal !== 'string' || !signal.startsWith('SIG')) throw new TypeError(`signal must be a signal name such as 'SIGUSR2', got ${String(signal)}`);
  if (signal === 'SIGUSR1' || signal === 'SIGKILL' || signal === 'SIGSTOP') throw new RangeError(`${signal} cannot be used for task dumps`);
  const onSignal = () => {
    const loop = state().runningLoop as BaseEventLoop | null;
    const text = loop === null ? 'no evloop loop is running in this thread' : `${loop.toString()}\n${formatTaskTree(loop)}`;
    const file = taskDumpPath();
    fs.writeFileSync(`${file}.tmp`, `${text}\n`);
    fs.renameSync(`${file}.tmp`, file);
  };
  process.on(signal, onSignal);
  return () => void process.off(signal, onSignal);
}
