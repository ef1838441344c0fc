/** Give the child a new pipe to this end (asyncio's `subprocess.PIPE`). */
export const PIPE = -1;
/** Send the child's stderr where its stdout goes (stderr only). */
export const STDOUT = -2;
/** Connect the stream to the null device. */
export const DEVNULL = -3;

/** What each of stdin/stdout/stderr may be: PIPE, STDOUT (stderr), DEVNULL, an fd, an object with `fileno()`, or null to inherit. */
export type StdioOption = number | { fileno(): number } | null | undefined;

export interface SubprocessOptions {
  stdin?: StdioOption;
  stdout?: StdioOption;
  stderr?: StdioOption;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Start the child in a new session/process group (Popen's start_new_session). */
  startNewSession?: boolean;
  /** Refused, as asyncio refuses them. */
  bufsize?: number;
  universalNewlines?: boolean;
  text?: boolean;
  encoding?: string;
  errors?: string;
  shell?: boolean;
  /** The argv[0] the child sees. */
  argv0?: string;
  uid?: number;
  gid?: number;
}

/** asyncio's checks of `subprocess_exec`'s options: bad input is a TypeError or RangeError naming the option. */
export function checkSubprocessOptions(options: SubprocessOptions): void {
  const names = ['stdin', 'stdout', 'stderr'] as const;
  for (const name of names) {
    const value = options[name];
    if (value === undefined || value === null || value === PIPE || value === DEVNULL) continue;
    if (value === STDOUT) {
      if (name !== 'stderr') throw new RangeError('STDOUT can only be used for stderr');
      continue;
    }
    if (typeof value === 'number' && (!Number.isInteger(value) || value < 0)) throw new RangeError(`invalid ${name} value ${value}`);
    if (typeof value !== 'number' && (typeof value !== 'object' || typeof value.fileno !== 'function')) {
      throw new TypeError(`${name} must be PIPE, STDOUT, DEVNULL, an fd, an object with fileno() or null`);
    }
  }
  if (options.universalNewlines) throw new RangeError('universalNewlines must be false');
  if (options.text) throw new RangeError('text must be false');
  if (options.encoding !== undefined && options.encoding !== null) throw new RangeError('encoding must be undefined');
  if (options.errors !== undefined && options.errors !== null) throw new RangeError('errors must be undefined');
  if (options.shell) throw new RangeError('shell must be false (use subprocessShell)');
  if (options.bufsize !== undefined && options.bufsize !== 0) throw new RangeError('bufsize must be 0');
  if (options.cwd !== undefined && typeof options.cwd !== 'string') throw new TypeError('cwd must be a string');
  if (options.env !== undefined && (options.env === null || typeof options.env !== 'object')) throw new TypeError('env must be an object');
}

