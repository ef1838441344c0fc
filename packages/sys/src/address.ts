import { AF_INET, AF_INET6, AF_UNIX, SUN_PATH_MAX } from './constants.js';
import { posixOnly } from './windows.js';
import type { NativeAddress, NativeAddressArgs } from './load-native.js';
import { describe } from './validate.js';

/**
 * A socket address, as Python's `socket` module spells it:
 * `[host, port]` for AF_INET, `[host, port, flowinfo, scopeId]` for AF_INET6
 * (`[host, port]` is accepted on input), a path string for AF_UNIX (a Linux
 * abstract name starts with `'\0'`). Hosts are numeric only: `''` is the
 * wildcard address and `'<broadcast>'` is INADDR_BROADCAST; resolve names
 * with `loop.getaddrinfo()` first.
 */
export type InetAddress = [host: string, port: number];
export type Inet6Address = [host: string, port: number, flowinfo: number, scopeId: number];
export type Address = InetAddress | Inet6Address | string;
/** What an address argument may be: IPv6 may leave out flowinfo and scopeId; a Unix path may be bytes. */
export type AddressInput = InetAddress | [string, number, number] | Inet6Address | string | Uint8Array;

/** Check an address for `family` and turn it into the addon's arguments. */
export function addressArgs(family: number, address: unknown, name = 'address'): NativeAddressArgs {
  if (family === AF_UNIX) {
    posixOnly('AF_UNIX');
    let path: Uint8Array;
    if (typeof address === 'string') path = Buffer.from(address, 'utf8');
    else if (address instanceof Uint8Array) path = address;
    else throw new TypeError(`${name} must be a path string for AF_UNIX, not ${describe(address)}`);
    const abstract = process.platform === 'linux' && path.length > 0 && path[0] === 0;
    const max = abstract ? SUN_PATH_MAX + 1 : SUN_PATH_MAX;
    if (path.length > max) {
      throw new RangeError(`${name} is too long for AF_UNIX: ${path.length} bytes, at most ${max}`);
    }
    if (!abstract && path.includes(0)) throw new RangeError(`${name} must not contain a NUL byte`);
    return [AF_UNIX, path, 0, 0, 0];
  }
  if (family !== AF_INET && family !== AF_INET6) {
    throw new RangeError(`unsupported address family ${String(family)} (expected AF_INET, AF_INET6 or AF_UNIX)`);
  }
  const shape = family === AF_INET ? '[host, port]' : '[host, port, flowinfo?, scopeId?]';
  if (!Array.isArray(address)) {
    throw new TypeError(`${name} must be a ${shape} array for ${family === AF_INET ? 'AF_INET' : 'AF_INET6'}, not ${describe(address)}`);
  }
  const maxItems = family === AF_INET ? 2 : 4;
  if (address.length < 2 || address.length > maxItems) {
    throw new TypeError(`${name} must be a ${shape} array, got ${address.length} items`);
  }
  const [host, port, flowinfo = 0, scopeId = 0] = address as unknown[];
  if (typeof host !== 'string') throw new TypeError(`${name} host must be a string, not ${describe(host)}`);
  if (typeof port !== 'number') throw new TypeError(`${name} port must be a number, not ${describe(port)}`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`${name} port must be an integer in [0, 65535], got ${port}`);
  }
  if (typeof flowinfo !== 'number' || !Number.isInteger(flowinfo) || flowinfo < 0 || flowinfo > 0xfffff) {
    throw new RangeError(`${name} flowinfo must be an integer in [0, 1048575]`);
  }
  if (typeof scopeId !== 'number' || !Number.isInteger(scopeId) || scopeId < 0 || scopeId > 0xffffffff) {
    throw new RangeError(`${name} scopeId must be an integer in [0, 4294967295]`);
  }
  return [family, host, port, flowinfo, scopeId];
}

/**
 * The host string of the last address decoded. A server accepting many
 * connections from one host (a proxy, a load balancer, a benchmark) would
 * otherwise keep one copy of the same host string per connection in each
 * peer address; comparing with the last one is cheap and shares it.
 */
let lastHost = '';

/** Turn the addon's address into the public shape; null when there is none. */
export function addressFromNative(address: NativeAddress): Address | null {
  if (address === null || typeof address === 'number') return null;
  if (Buffer.isBuffer(address)) return address.toString('utf8');
  const host = address[0];
  if (host === lastHost) address[0] = lastHost;
  else lastHost = host;
  return address;
}
