import type { PeerCertificate } from 'node:tls';
import type { BaseProtocol } from './protocols.js';
import type { Address } from './loop.js';

/**
 * What `getExtraInfo(name)` gives for each name asyncio defines, on the
 * transports that have it (a name a transport lacks gives the default).
 * `A` is the address type of the transport's socket: `InetAddress` for TCP
 * and UDP, a path string for Unix sockets.
 */
export interface TransportExtraInfo<A extends Address = Address> {
  /** The remote address (socket transports). */
  peername: A;
  /** The local address (socket transports). */
  sockname: A;
  /** The socket itself (socket transports): `@evloop/sys`'s `Socket`. */
  socket: TransportSocket<A>;
  /** The `SSLContext` of a TLS transport. */
  sslcontext: object;
  /** The peer's certificate as Node's `getPeerCertificate()` gives it, or null (TLS). */
  peercert: PeerCertificate | null;
  /** `[name, protocol version, secret bits]` of the negotiated cipher (TLS). */
  cipher: [name: string, version: string, bits: number];
  /** The compression in use: always null (TLS). */
  compression: string | null;
  /** The pipe object a pipe transport was given (`connectReadPipe`, `connectWritePipe`). */
  pipe: number | { fileno(): number };
  /** The child process of a subprocess transport (Node's `ChildProcess`). */
  subprocess: object;
}

/** The socket of a socket transport, as far as the transport contract knows it (`@evloop/sys`'s `Socket` has more). */
export interface TransportSocket<A extends Address = Address> {
  readonly family: number;
  readonly type: number;
  readonly proto: number;
  fileno(): number;
  getsockname(): A;
  getpeername(): A;
  setsockopt(level: number, optname: number, value: number | boolean | Uint8Array): void;
  getsockopt(level: number, optname: number): number;
}

/** asyncio's `BaseTransport`. `A` is the address type of its socket (see {@link TransportExtraInfo}). */
export interface BaseTransport<A extends Address = Address> {
  /**
   * Information about the transport, by asyncio's names (see
   * {@link TransportExtraInfo}); `defaultValue` (else undefined) when this
   * transport has none.
   */
  getExtraInfo<K extends keyof TransportExtraInfo<A>>(name: K): TransportExtraInfo<A>[K] | undefined;
  getExtraInfo<K extends keyof TransportExtraInfo<A>, D>(name: K, defaultValue: D): TransportExtraInfo<A>[K] | D;
  getExtraInfo(name: string, defaultValue?: unknown): unknown;
  isClosing(): boolean;
  /** Flush buffered data, then close; the protocol's `connectionLost(null)` is called once. */
  close(): void;
  setProtocol(protocol: BaseProtocol): void;
  getProtocol(): BaseProtocol;
}

/** asyncio's `ReadTransport`. */
export interface ReadTransport<A extends Address = Address> extends BaseTransport<A> {
  isReading(): boolean;
  pauseReading(): void;
  resumeReading(): void;
}

/**
 * asyncio's `WriteTransport`: `write` sends at once where it can and buffers
 * the rest. Buffered data is the caller's buffer itself, not a copy: do not
 * change a buffer after writing it. Above the high-water mark (64 KiB by
 * default, low 16 KiB) the protocol's `pauseWriting` is called, and
 * `resumeWriting` once the buffer drains to the low mark. Writes after the
 * connection is lost are ignored (a warning is logged after a few).
 */
export interface WriteTransport<A extends Address = Address> extends BaseTransport<A> {
  setWriteBufferLimits(high?: number | null, low?: number | null): void;
  getWriteBufferSize(): number;
  getWriteBufferLimits(): [low: number, high: number];
  write(data: Uint8Array): void;
  writelines(list: Iterable<Uint8Array>): void;
  writeEof(): void;
  canWriteEof(): boolean;
  /** Close at once, dropping buffered data. */
  abort(): void;
}

/** asyncio's `Transport`: a stream connection (TCP, Unix, TLS). */
export interface Transport<A extends Address = Address> extends ReadTransport<A>, WriteTransport<A> {}

/** asyncio's `DatagramTransport`: `sendto` queues what the kernel cannot take now, with the same flow control as a stream. */
export interface DatagramTransport<A extends Address = Address> extends BaseTransport<A> {
  /** Send to `addr`, or to the connected peer (then `addr` must be omitted or equal to it). */
  sendto(data: Uint8Array, addr?: A | null): void;
  abort(): void;
}

export interface SubprocessTransport extends BaseTransport {
  getPid(): number;
  getReturncode(): number | null;
  /** The transport of the child's fd 0 (a `WriteTransport`), 1 or 2 (`ReadTransport`s), or null when it is not a pipe. */
  getPipeTransport(fd: 0): WriteTransport | null;
  getPipeTransport(fd: 1 | 2): ReadTransport | null;
  getPipeTransport(fd: number): BaseTransport | null;
  sendSignal(signal: NodeJS.Signals | number): void;
  terminate(): void;
  kill(): void;
}
