import type { Address } from './loop.js';
import type { BaseTransport, DatagramTransport, SubprocessTransport, Transport } from './transports.js';

/**
 * asyncio's `BaseProtocol`. Every method is optional in practice; classes in
 * core-policy give no-op defaults. `T` is the transport the protocol is
 * given in `connectionMade`.
 */
export interface BaseProtocol<T extends BaseTransport = BaseTransport> {
  connectionMade?(transport: T): void;
  /** Called exactly once, with the error or null. */
  connectionLost?(error: unknown): void;
  pauseWriting?(): void;
  resumeWriting?(): void;
}

/** A stream protocol (TCP, Unix, TLS, pipes). */
export interface Protocol<T extends BaseTransport = Transport> extends BaseProtocol<T> {
  dataReceived?(data: Buffer): void;
  /** Return true to keep the connection half-open. */
  eofReceived?(): boolean | void;
}

/** Reads into a buffer the protocol owns, without a copy. */
export interface BufferedProtocol<T extends BaseTransport = Transport> extends BaseProtocol<T> {
  getBuffer(sizeHint: number): Uint8Array;
  bufferUpdated(nbytes: number): void;
  eofReceived?(): boolean | void;
}

/**
 * A datagram protocol; `A` is the senders' address type: `InetAddress` for
 * UDP, a path for Unix datagrams (null from a sender without a name).
 */
export interface DatagramProtocol<A extends Address | null = Address | null> extends BaseProtocol<DatagramTransport<Exclude<A, null>>> {
  datagramReceived?(data: Buffer, addr: A): void;
  /** An OS error on a send or receive (e.g. `ConnectionRefusedError` after an ICMP port unreachable). */
  errorReceived?(error: unknown): void;
}

export interface SubprocessProtocol extends BaseProtocol<SubprocessTransport> {
  pipeDataReceived?(fd: number, data: Buffer): void;
  pipeConnectionLost?(fd: number, error: unknown): void;
  processExited?(): void;
}
