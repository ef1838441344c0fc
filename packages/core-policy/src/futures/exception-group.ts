const TAG = Symbol.for('evloop.exceptionGroup');

/**
 * Python's `ExceptionGroup` as a JavaScript `AggregateError`: what a
 * `TaskGroup` throws when children fail. `exceptions` (and `errors`, the
 * `AggregateError` name) hold the failures in the order they happened;
 * `subgroup()` and `split()` pick some out, as `except*` does in Python.
 * `ExceptionGroup.isInstance()` holds across duplicated installs.
 */
export class ExceptionGroup extends AggregateError {
  declare readonly [TAG]: true;
  /** The failures, in the order they happened (the same array as `errors`). */
  readonly exceptions: readonly unknown[];

  constructor(message: string, exceptions: readonly unknown[]) {
    if (typeof message !== 'string') throw new TypeError(`message must be a string, got ${typeof message}`);
    if (!Array.isArray(exceptions)) throw new TypeError('exceptions must be an array');
    if (exceptions.length === 0) throw new RangeError('exceptions must not be empty');
    super(exceptions, `${message} (${exceptions.length} sub-exception${exceptions.length === 1 ? '' : 's'})`);
    this.exceptions = Object.freeze([...exceptions]);
  }

  static isInstance(value: unknown): value is ExceptionGroup {
    return value !== null && typeof value === 'object' && (value as Record<symbol, unknown>)[TAG] === true;
  }

  /**
   * The exceptions that match `predicate` (nested groups are searched and
   * kept in their shape), as a new group with this one's message; null when
   * none match.
   */
  subgroup(predicate: (error: unknown) => boolean): ExceptionGroup | null {
    return this.split(predicate)[0];
  }

  /** `[matching, rest]`, each a group or null (Python's `ExceptionGroup.split`). */
  split(predicate: (error: unknown) => boolean): [ExceptionGroup | null, ExceptionGroup | null] {
    if (typeof predicate !== 'function') throw new TypeError('predicate must be a function');
    if (predicate(this)) return [this, null];
    const matching: unknown[] = [];
    const rest: unknown[] = [];
    for (const error of this.exceptions) {
      if (ExceptionGroup.isInstance(error)) {
        const [inner, outer] = error.split(predicate);
        if (inner !== null) matching.push(inner);
        if (outer !== null) rest.push(outer);
      } else if (predicate(error)) matching.push(error);
      else rest.push(error);
    }
    return [matching.length === 0 ? null : this.derive(matching), rest.length === 0 ? null : this.derive(rest)];
  }

  /** A group like this one with other exceptions (what `split` builds its halves with). */
  derive(exceptions: readonly unknown[]): ExceptionGroup {
    const group = new ExceptionGroup(this.baseMessage, exceptions);
    if (this.cause !== undefined) group.cause = this.cause;
    return group;
  }

  /** The message without the sub-exception count. */
  get baseMessage(): string {
    return this.message.replace(/ \(\d+ sub-exceptions?\)$/, '');
  }
}
Object.defineProperty(ExceptionGroup.prototype, TAG, { value: true, enumerable: false });
Object.defineProperty(ExceptionGroup.prototype, 'name', { value: 'ExceptionGroup', enumerable: false, writable: true, configurable: true });
