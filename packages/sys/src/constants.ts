import { isWindows } from './windows.js';
import { native } from './load-native.js';

/**
 * Socket constants with this platform's values, read from the addon (so they
 * are the values the C headers had when it was built). Names that a platform
 * lacks are `undefined` there, as Python's `socket` module omits them.
 */
const values = native.constants;

function required(name: string): number {
  const value = values[name];
  if (typeof value !== 'number') throw new Error(`@evloop/sys: the native addon does not define ${name}`);
  return value;
}

/**
 * A constant every POSIX system has and Windows does not (Unix sockets'
 * SCM_RIGHTS and path limit, MSG_DONTWAIT, MSG_EOR): required on POSIX; on
 * Windows `undefined` (typed `number` so POSIX code keeps its types; what
 * uses them raises NotImplementedError there first).
 */
function posixRequired(name: string): number {
  return isWindows ? (values[name] as number) : required(name);
}

/** Every constant the addon defines on this platform, by name. */

export const constants: Readonly<Record<string, number>> = Object.freeze({ ...values });

export const AF_UNSPEC = required('AF_UNSPEC');
export const AF_INET = required('AF_INET');
export const AF_INET6 = required('AF_INET6');
export const AF_UNIX = required('AF_UNIX');
export const SOCK_STREAM = required('SOCK_STREAM');
export const SOCK_DGRAM = required('SOCK_DGRAM');
export const SOCK_RAW = required('SOCK_RAW');
export const SOCK_SEQPACKET = required('SOCK_SEQPACKET');
/** Linux only: a type flag for a non-blocking socket. */
export const SOCK_NONBLOCK: number | undefined = values.SOCK_NONBLOCK;
/** Linux only: a type flag for close-on-exec (every evloop socket is close-on-exec anyway). */
export const SOCK_CLOEXEC: number | undefined = values.SOCK_CLOEXEC;
export const SOL_SOCKET = required('SOL_SOCKET');
export const SO_REUSEADDR = required('SO_REUSEADDR');
export const SO_REUSEPORT: number | undefined = values.SO_REUSEPORT;
export const SO_BROADCAST = required('SO_BROADCAST');
export const SO_ERROR = required('SO_ERROR');
export const SO_KEEPALIVE = required('SO_KEEPALIVE');
export const SO_RCVBUF = required('SO_RCVBUF');
export const SO_SNDBUF = required('SO_SNDBUF');
export const SO_LINGER = required('SO_LINGER');
export const SO_TYPE = required('SO_TYPE');
export const SO_RCVLOWAT = required('SO_RCVLOWAT');
export const SO_SNDLOWAT = required('SO_SNDLOWAT');
export const SO_RCVTIMEO = required('SO_RCVTIMEO');
export const SO_SNDTIMEO = required('SO_SNDTIMEO');
export const SO_ACCEPTCONN = required('SO_ACCEPTCONN');
export const SO_OOBINLINE = required('SO_OOBINLINE');
export const SO_DONTROUTE = required('SO_DONTROUTE');
export const SO_PASSCRED: number | undefined = values.SO_PASSCRED;
export const SO_PEERCRED: number | undefined = values.SO_PEERCRED;
export const SO_DOMAIN: number | undefined = values.SO_DOMAIN;
export const SO_PROTOCOL: number | undefined = values.SO_PROTOCOL;
export const SO_NOSIGPIPE: number | undefined = values.SO_NOSIGPIPE;
export const SCM_RIGHTS = posixRequired('SCM_RIGHTS');
export const SCM_CREDENTIALS: number | undefined = values.SCM_CREDENTIALS;
export const IPPROTO_IP = required('IPPROTO_IP');
export const IPPROTO_TCP = required('IPPROTO_TCP');
export const IPPROTO_UDP = required('IPPROTO_UDP');
export const IPPROTO_IPV6 = required('IPPROTO_IPV6');
export const IPV6_V6ONLY = required('IPV6_V6ONLY');
export const IPV6_UNICAST_HOPS = required('IPV6_UNICAST_HOPS');
export const IP_TTL = required('IP_TTL');
export const IP_TOS = required('IP_TOS');
export const IP_MULTICAST_TTL = required('IP_MULTICAST_TTL');
export const IP_MULTICAST_LOOP = required('IP_MULTICAST_LOOP');
export const TCP_NODELAY = required('TCP_NODELAY');
export const TCP_KEEPIDLE: number | undefined = values.TCP_KEEPIDLE;
/** macOS's name for TCP_KEEPIDLE. */
export const TCP_KEEPALIVE: number | undefined = values.TCP_KEEPALIVE;
export const TCP_KEEPINTVL: number | undefined = values.TCP_KEEPINTVL;
export const TCP_KEEPCNT: number | undefined = values.TCP_KEEPCNT;
export const SHUT_RD = required('SHUT_RD');
export const SHUT_WR = required('SHUT_WR');
export const SHUT_RDWR = required('SHUT_RDWR');
export const MSG_PEEK = required('MSG_PEEK');
export const MSG_DONTWAIT = posixRequired('MSG_DONTWAIT');
export const MSG_OOB = required('MSG_OOB');
export const MSG_WAITALL = required('MSG_WAITALL');
export const MSG_TRUNC = required('MSG_TRUNC');
export const MSG_CTRUNC = required('MSG_CTRUNC');
export const MSG_EOR = posixRequired('MSG_EOR');
export const MSG_DONTROUTE = required('MSG_DONTROUTE');
/** Linux only; `send`/`sendto`/`sendmsg` add it themselves, so SIGPIPE never fires. */
export const MSG_NOSIGNAL: number | undefined = values.MSG_NOSIGNAL;
export const MSG_CMSG_CLOEXEC: number | undefined = values.MSG_CMSG_CLOEXEC;
export const SOMAXCONN = required('SOMAXCONN');
export const INADDR_ANY = required('INADDR_ANY');
export const INADDR_LOOPBACK = required('INADDR_LOOPBACK');
/** The longest filesystem path a Unix socket address takes, in bytes (107 on Linux, 103 on macOS). */
export const SUN_PATH_MAX = posixRequired('SUN_PATH_MAX');
