/** asyncio's default high-water mark of a transport's write buffer. */
export const DEFAULT_HIGH_WATER = 64 * 1024;

function checkLimit(name: string, value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(`${name} must be a number or null, got ${value === null ? 'null' : typeof value}`);
  return value;
}

/**
 * `setWriteBufferLimits(high, low)` as asyncio computes it: high defaults to
 * 64 KiB (or 4 × low), low to high / 4, and `high >= low >= 0`. Returns
 * `[high, low]`; a limit that is not a number is a TypeError naming it.
 */
export function writeBufferLimits(highArgument: unknown, lowArgument: unknown): [high: number, low: number] {
  let high = checkLimit('high', highArgument);
  let low = checkLimit('low', lowArgument);
  if (high === null) high = low === null ? DEFAULT_HIGH_WATER : 4 * low;
  if (low === null) low = Math.floor(high / 4);
  if (!(high >= low && low >= 0)) throw new RangeError(`high (${high}) must be >= low (${low}) must be >= 0`);
  return [high, low];
}

/**
 * The pieces `writelines(list)` writes, read once (a generator can be
 * iterated only once): every item must be bytes-like. A `list` that is not
 * iterable, or an item that is not a Uint8Array, is a TypeError naming it.
 */
export function writelinesPieces(list: unknown): Uint8Array[] {
  if (list === null || list === undefined || typeof (list as Iterable<unknown>)[Symbol.iterator] !== 'function' || typeof list === 'string') {
    throw new TypeError(`writelines() list must be an iterable of bytes-like objects (Uint8Array), got ${list === null ? 'null' : typeof list}`);
  }
  const pieces: Uint8Array[] = [];
  for (const data of list as Iterable<unknown>) {
    if (!(data instanceof Uint8Array)) throw new TypeError('writelines() takes bytes-like objects (Uint8Array)');
    pieces.push(data);
  }
  return pieces;
}

/** `setProtocol(protocol)`: the protocol must be an object (its callbacks are looked up on it). */
export function checkProtocol(protocol: unknown): void {
  if (protocol === null || (typeof protocol !== 'object' && typeof protocol !== 'function')) {
    throw new TypeError(`protocol must be a protocol object, got ${protocol === null ? 'null' : typeof protocol}`);
  }
}
