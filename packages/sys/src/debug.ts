/**
 * Debug mode of @evloop/sys: when on, a Socket that is garbage-collected
 * while still open emits a `ResourceWarning` naming its fd (it is closed
 * either way). Starts on when `EVLOOP_DEBUG=1`.
 */
let debug = process.env.EVLOOP_DEBUG === '1';

export function setDebug(flag: boolean): void {
  if (typeof flag !== 'boolean') throw new TypeError('flag must be a boolean');
  debug = flag;
}

export function getDebug(): boolean {
  return debug;
}
