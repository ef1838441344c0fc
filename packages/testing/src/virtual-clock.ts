import { performance } from 'node:perf_hooks';
import { ProactorEventLoop, SelectorEventLoop, type BaseEventLoop, type LoopClock } from '@evloop/core-policy';

/**
 * What the clock does about file descriptors the loop watches when it would
 * otherwise jump:
 * - `'poll'` (default): after a full Node macrotask turn, ask the backend
 *   whether any watched fd is ready (a proactor: whether any operation has
 *   completed, after submitting those just started); if so, the loop handles
 *   it first and time does not move. A watched fd with nothing to read (a
 *   listening server, an idle connection) does not hold time back. Loopback
 *   traffic is in the kernel by the time `send` returns, so it always wins
 *   over a jump. A proactor without `hasCompletions()` cannot be asked, and
 *   time jumps as if nothing were ready.
 * - `'hold'`: no jump at all while any fd is watched (a proactor: while any
 *   operation is in flight); the loop waits in real time for its next timer
 *   (virtual time advances by the real time waited).
 */
export type IoPolicy = 'poll' | 'hold';

export interface VirtualClockOptions {
  /** The virtual time to start at, in seconds (default 0). */
  start?: number;
  /** Jump to the next timer when the loop is idle (default true). With false, time moves only by `advance()`. */
  autojump?: boolean;
  /**
   * Real seconds the loop must stay idle before time jumps (Trio's
   * `autojump_threshold`; default 0: at the next Node macrotask). Raise it
   * when the code under test waits for things the loop cannot see (a remote
   * server, `fs`, `dns`, a child process, a worker).
   */
  autojumpThreshold?: number;
  /** See `IoPolicy` (default `'poll'`). */
  io?: IoPolicy;
}

function checkSeconds(value: unknown, name: string, allowNegative: boolean): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${value === null ? 'null' : typeof value}`);
  if (Number.isNaN(value) || !Number.isFinite(value)) throw new RangeError(`${name} must be a finite number, got ${value}`);
  if (!allowNegative && value < 0) throw new RangeError(`${name} must not be negative, got ${value}`);
  return value;
}

/**
 * Virtual time for an evloop loop (`loop.setClock(clock)`; `createTestLoop`
 * does it for you). `loop.time()` reads this clock. When the loop is idle,
 * with nothing ready and a timer pending, time jumps straight to that timer,
 * as Trio's `MockClock` with autojump does: a test of a 30-second timeout
 * runs in milliseconds, and timers still fire in their exact order.
 */
export class VirtualClock implements LoopClock {
  #now: number;
  #autojump: boolean;
  readonly #threshold: number;
  readonly #io: IoPolicy;
  #loop: BaseEventLoop | null = null;
  #jumps = 0;

  constructor(options: VirtualClockOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
    this.#now = options.start === undefined ? 0 : checkSeconds(options.start, 'start', true);
    this.#autojump = options.autojump ?? true;
    if (typeof this.#autojump !== 'boolean') throw new TypeError(`autojump must be a boolean, got ${typeof options.autojump}`);
    this.#threshold = options.autojumpThreshold === undefined ? 0 : checkSeconds(options.autojumpThreshold, 'autojumpThreshold', false);
    const io = options.io ?? 'poll';
    if (io !== 'poll' && io !== 'hold') throw new RangeError(`io must be 'poll' or 'hold', got ${JSON.stringify(io)}`);
    this.#io = io;
  }

  /** Make this the clock of `loop` (a clock serves one loop). */
  install(loop: BaseEventLoop): this {
    if (loop === null || typeof loop !== 'object' || typeof loop.setClock !== 'function') throw new TypeError('loop must be an evloop loop (BaseEventLoop)');
    if (this.#loop !== null && this.#loop !== loop) throw new RangeError('this VirtualClock already serves another loop');
    this.#loop = loop;
    loop.setClock(this);
    return this;
  }

  /** The virtual time, in seconds. */
  time(): number {
    return this.#now;
  }

  /** How many times time jumped on its own (autojump). */
  get jumps(): number {
    return this.#jumps;
  }

  get autojump(): boolean {
    return this.#autojump;
  }

  set autojump(enabled: boolean) {
    if (typeof enabled !== 'boolean') throw new TypeError(`autojump must be a boolean, got ${typeof enabled}`);
    this.#autojump = enabled;
  }

  /** Move time forward by `seconds` (Trio's `jump`); due timers run at the loop's next iteration. */
  advance(seconds: number): void {
    checkSeconds(seconds, 'seconds', false);
    this.#now += seconds;
    // The loop plans its next iteration again with the new time.
    this.#loop?.setClock(this);
  }

  /** @see LoopClock.sleepUntil */
  sleepUntil(when: number, wake: () => void): () => void {
    if (!this.#autojump) return () => {};
    if (this.#io === 'hold' && this.#watchesIo()) return this.#realWait(when, wake);
    const fire = () => {
      // Events the backend already has go first; the jump waits for them.
      if (this.#io === 'poll' && this.#ioReady()) {
        wake();
        return;
      }
      if (when > this.#now) {
        this.#now = when;
        this.#jumps++;
      }
      wake();
    };
    if (this.#threshold > 0) {
      const timer = setTimeout(fire, Math.ceil(this.#threshold * 1000));
      return () => clearTimeout(timer);
    }
    const immediate = setImmediate(fire);
    return () => clearImmediate(immediate);
  }

  /** Wait in real time; virtual time advances by what was waited. */
  #realWait(when: number, wake: () => void): () => void {
    const started = performance.now();
    const base = this.#now;
    const timer = setTimeout(() => {
      this.#now = Math.max(this.#now, when);
      wake();
    }, Math.min(Math.ceil((when - this.#now) * 1000), 0x7fffffff));
    return () => {
      clearTimeout(timer);
      const waited = (performance.now() - started) / 1000;
      this.#now = Math.max(this.#now, Math.min(when, base + waited));
    };
  }

  #watchesIo(): boolean {
    const loop = this.#loop;
    if (loop === null || loop.isClosed()) return false;
    if (loop instanceof SelectorEventLoop) return loop.selector.getMap().size > 0;
    if (loop instanceof ProactorEventLoop) return loop.proactor.pending > 0;
    return false;
  }

  #ioReady(): boolean {
    const loop = this.#loop;
    if (loop === null || loop.isClosed()) return false;
    if (loop instanceof SelectorEventLoop) {
      const selector = loop.selector;
      return selector.getMap().size > 0 && selector.selectInto(0) > 0;
    }
    if (loop instanceof ProactorEventLoop) {
      // Not poll(): that would take the completions the loop must dispatch.
      const proactor = loop.proactor;
      return proactor.pending > 0 && typeof proactor.hasCompletions === 'function' && proactor.hasCompletions();
    }
    return false;
  }
}
