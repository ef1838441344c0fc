import dns from 'node:dns';
import net from 'node:net';
import { OSError, type AddrInfo, type Address } from '@evloop/interface';
import { sysConstant } from './socket-module.js';

const darwin = process.platform === 'darwin';

/** getaddrinfo flags, with this platform's values (Python's `socket.AI_*`). */
export const AI_PASSIVE = 0x1;
export const AI_CANONNAME = 0x2;
export const AI_NUMERICHOST = 0x4;
export const AI_NUMERICSERV = darwin ? 0x1000 : 0x400;
/** getnameinfo flags (Python's `socket.NI_*`). */
export const NI_NUMERICHOST = darwin ? 0x2 : 0x1;
export const NI_NUMERICSERV = darwin ? 0x8 : 0x2;

// EAI_* numbers as glibc defines them (negative); macOS uses small positive ones.
const EAI = darwin
  ? { EAI_FAMILY: 5, EAI_NONAME: 8, EAI_SERVICE: 9, EAI_ADDRFAMILY: 1 }
  : { EAI_FAMILY: -6, EAI_NONAME: -2, EAI_SERVICE: -8, EAI_ADDRFAMILY: -9 };

/** A name-resolution failure: an OSError whose `code` is the `EAI_*` (or Node's `ENOTFOUND`) name and `syscall` is `'getaddrinfo'`/`'getnameinfo'`. */
export function gaiError(code: keyof typeof EAI | string, message: string, syscall = 'getaddrinfo', errno?: number): OSError {
  const number = errno ?? (EAI as Record<string, number>)[code] ?? 0;
  const error = new OSError(number, syscall, `${syscall} ${code}: ${message}`, code);
  Object.defineProperty(error, 'name', { value: 'gaierror', enumerable: false, configurable: true });
  return error;
}

export interface AddrInfoOptions {
  family?: number;
  type?: number;
  proto?: number;
  flags?: number;
}

function parsePort(port: string | number | null | undefined): number {
  if (port === null || port === undefined || port === '') return 0;
  if (typeof port === 'number') {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be 0-65535, got ${port}`);
    return port;
  }
  if (typeof port === 'string' && /^\d+$/.test(port)) {
    const value = Number(port);
    if (value > 65535) throw new RangeError(`port must be 0-65535, got ${port}`);
    return value;
  }
  throw gaiError('EAI_SERVICE', `service names are not supported (got ${JSON.stringify(port)}); give a port number`);
}

/** The `[type, proto]` pairs one address expands to, as glibc fills them in. */
function socketKinds(type: number, proto: number): Array<[number, number]> {
  const STREAM = sysConstant('SOCK_STREAM')!;
  const DGRAM = sysConstant('SOCK_DGRAM')!;
  const RAW = sysConstant('SOCK_RAW')!;
  const TCP = sysConstant('IPPROTO_TCP')!;
  const UDP = sysConstant('IPPROTO_UDP')!;
  const defaultProto = (kind: number): number => (proto !== 0 ? proto : kind === STREAM ? TCP : kind === DGRAM ? UDP : 0);
  if (type !== 0) return [[type, defaultProto(type)]];
  if (proto === TCP) return [[STREAM, TCP]];
  if (proto === UDP) return [[DGRAM, UDP]];
  return [
    [STREAM, defaultProto(STREAM)],
    [DGRAM, defaultProto(DGRAM)],
    [RAW, proto],
  ];
}

function expand(hosts: Array<{ address: string; family: number }>, port: number, options: AddrInfoOptions, canonname: string): AddrInfo[] {
  const AF_INET = sysConstant('AF_INET')!;
  const AF_INET6 = sysConstant('AF_INET6')!;
  const kinds = socketKinds(options.type ?? 0, options.proto ?? 0);
  const result: AddrInfo[] = [];
  for (const host of hosts) {
    const family = host.family === 6 ? AF_INET6 : AF_INET;
    for (const [type, proto] of kinds) {
      let sockaddr: Address;
      if (family === AF_INET6) {
        const zone = host.address.indexOf('%');
        const scope = zone >= 0 && /^\d+$/.test(host.address.slice(zone + 1)) ? Number(host.address.slice(zone + 1)) : 0;
        sockaddr = [host.address, port, 0, scope];
      } else {
        sockaddr = [host.address, port];
      }
      result.push([family, type, proto, result.length === 0 ? canonname : '', sockaddr]);
    }
  }
  return result;
}

/** Node's `family` (0, 4, 6) for a socket family number, or throws EAI_FAMILY. */
function nodeFamily(family: number): 0 | 4 | 6 {
  if (family === 0) return 0;
  if (family === sysConstant('AF_INET')) return 4;
  if (family === sysConstant('AF_INET6')) return 6;
  throw gaiError('EAI_FAMILY', `address family ${family} not supported`);
}

/**
 * The addresses of `host` without DNS when it is numeric or null, else
 * undefined. Throws the gaierror Python would for a family mismatch.
 */
export function resolveWithoutDns(host: string | null | undefined, port: string | number | null | undefined, options: AddrInfoOptions): AddrInfo[] | undefined {
  const flags = options.flags ?? 0;
  const family = nodeFamily(options.family ?? 0);
  const portNumber = parsePort(port);
  if (host === null || host === undefined || host === '') {
    const passive = (flags & AI_PASSIVE) !== 0;
    const four = { address: passive ? '0.0.0.0' : '127.0.0.1', family: 4 };
    const six = { address: passive ? '::' : '::1', family: 6 };
    const hosts = family === 4 ? [four] : family === 6 ? [six] : passive ? [four, six] : [six, four];
    return expand(hosts, portNumber, options, '');
  }
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const withoutZone = bare.split('%')[0]!;
  const version = net.isIP(withoutZone);
  if (version === 0) {
    if ((flags & AI_NUMERICHOST) !== 0) throw gaiError('EAI_NONAME', `${host} is not a numeric host and AI_NUMERICHOST is set`);
    return undefined;
  }
  if (family !== 0 && family !== version) throw gaiError('EAI_ADDRFAMILY', `address family for ${host} not supported`);
  return expand([{ address: bare, family: version }], portNumber, options, (flags & AI_CANONNAME) !== 0 ? bare : '');
}

/** Resolve through `dns.lookup` (the system resolver, on libuv's thread pool), calling back once. */
export function lookupAll(host: string, port: string | number | null | undefined, options: AddrInfoOptions, callback: (error: unknown, infos: AddrInfo[] | null) => void): void {
  let portNumber: number;
  let family: 0 | 4 | 6;
  try {
    portNumber = parsePort(port);
    family = nodeFamily(options.family ?? 0);
  } catch (error) {
    callback(error, null);
    return;
  }
  dns.lookup(host, { all: true, family, order: 'verbatim' }, (error, addresses) => {
    if (error) {
      const record = error as NodeJS.ErrnoException;
      callback(gaiError(record.code ?? 'EAI_FAIL', `${host}: ${record.message}`, 'getaddrinfo', typeof record.errno === 'number' ? record.errno : undefined), null);
      return;
    }
    const canonname = ((options.flags ?? 0) & AI_CANONNAME) !== 0 ? host : '';
    callback(null, expand(addresses, portNumber, options, canonname));
  });
}

/**
 * Reorder addresses so that families alternate (RFC 8305 section 4): the
 * first `firstAddressFamilyCount` of the first family, then one of each in
 * turn. asyncio's `_interleave_addrinfos`.
 */
export function interleaveAddrInfos(infos: AddrInfo[], firstAddressFamilyCount = 1): AddrInfo[] {
  const byFamily = new Map<number, AddrInfo[]>();
  for (const info of infos) {
    let list = byFamily.get(info[0]);
    if (list === undefined) byFamily.set(info[0], (list = []));
    list.push(info);
  }
  const lists = [...byFamily.values()];
  const result: AddrInfo[] = [];
  if (firstAddressFamilyCount > 1 && lists.length > 0) result.push(...lists[0]!.splice(0, firstAddressFamilyCount - 1));
  for (let index = 0; lists.some((list) => index < list.length); index++) {
    for (const list of lists) if (index < list.length) result.push(list[index]!);
  }
  return result;
}

/** `host` and `port` as a numeric address when both need no lookup (asyncio's `_ipaddr_info`), else undefined. */
export function numericAddress(family: number, address: unknown): boolean {
  if (family !== sysConstant('AF_INET') && family !== sysConstant('AF_INET6')) return true;
  if (!Array.isArray(address) || typeof address[0] !== 'string') return true;
  const host = address[0];
  return host === '' || host === '<broadcast>' || net.isIP(host.split('%')[0]!) !== 0;
}
