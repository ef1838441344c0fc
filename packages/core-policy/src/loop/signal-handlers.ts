import { constants as osConstants } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { NotImplementedError, RuntimeError } from '@evloop/interface';
import type { Handle } from './handles.js';

const signalNumbers = osConstants.signals as Record<string, number>;
const UNCATCHABLE = new Set(['SIGKILL', 'SIGSTOP']);

/** Resolve a signal given by name ('SIGINT', 'INT') or number to its name, with asyncio's checks. */
export function signalName(signal: unknown): NodeJS.Signals {
  let name: string | undefined;
  if (typeof signal === 'number') {
    if (!Number.isInteger(signal)) throw new TypeError(`sig must be an int or a signal name, got ${signal}`);
    name = Object.keys(signalNumbers).find((key) => signalNumbers[key] === signal);
    if (name === undefined) throw new RangeError(`invalid signal number ${signal}`);
  } else if (typeof signal === 'string') {
    const candidate = signal.startsWith('SIG') ? signal : `SIG${signal}`;
    if (!(candidate in signalNumbers)) throw new RangeError(`invalid signal name ${JSON.stringify(signal)}`);
    name = candidate;
  } else {
    throw new TypeError(`sig must be an int or a signal name, got ${signal === null ? 'null' : typeof signal}`);
  }
  if (UNCATCHABLE.has(name)) throw new RangeError(`${name} cannot be caught`);
  return name as NodeJS.Signals;
}

/**
 * The loop's signal handlers: one Node listener per signal, which only
 * schedules the user's callback on the loop (so it runs as a loop callback,
 * never inside signal delivery). Removing the last handler removes the
 * listener, which restores Node's own behaviour for that signal.
 */
export class SignalHandlers {
  readonly #handlers = new Map<NodeJS.Signals, { handle: Handle; listener: () => void }>();

  add(signal: unknown, handle: Handle, schedule: (handle: Handle) => void): void {
    const name = signalName(signal);
    if (!isMainThread) throw new RuntimeError('addSignalHandler() works only in the main thread (worker threads do not receive signals)');
    if (process.platform === 'win32' && name !== 'SIGINT' && name !== 'SIGBREAK' && name !== 'SIGHUP') {
      throw new NotImplementedError(`${name} cannot be handled on Windows: Node delivers only SIGINT and SIGBREAK (Ctrl+C, Ctrl+Break) and SIGHUP (the console closing) there`);
    }
    this.remove(name);
    const listener = () => schedule(handle);
    try {
      process.on(name, listener);
    } catch (error) {
      throw new RuntimeError(`cannot install a handler for ${name}: ${(error as Error)?.message ?? String(error)}`);
    }
    this.#handlers.set(name, { handle, listener });
  }

  remove(signal: unknown): boolean {
    const name = signalName(signal);
    const entry = this.#handlers.get(name);
    if (entry === undefined) return false;
    this.#handlers.delete(name);
    process.off(name, entry.listener);
    entry.handle.cancel();
    return true;
  }

  removeAll(): void {
    for (const name of [...this.#handlers.keys()]) this.remove(name);
  }

  get size(): number {
    return this.#handlers.size;
  }
}
