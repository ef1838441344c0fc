import type { BaseTransport, DatagramTransport, SubprocessTransport } from './transports.js';

/** asyncio's `BaseProtocol`. Every method is optional in practice; classes in core-policy give no-op defaults. */
export interface BaseProtocol {
  connectionMade?(transport: BaseTransport): void;
  /** Called exactly once, with the error or null. */
  connectionLost?(error: unknown): void;
  pauseWriting?(): void;
  resumeWriting?(): void;
}

export interface Protocol extends BaseProtocol {
  dataReceived?(data: Uint8Array): void;
  /** Return true to keep the connection half-open. */
  eofReceived?(): boolean | void;
}

/** Reads into a buffer the protocol owns, without a copy. */
export interface BufferedProtocol extends BaseProtocol {
  getBuffer(sizeHint: number): Uint8Array;
  bufferUpdated(nbytes: number): void;
  eofReceived?(): boolean | void;
}

export interface DatagramProtocol extends BaseProtocol {
  connectionMade?(transport: DatagramTransport): void;
  datagramReceived?(data: Uint8Array, addr: unknown): void;
  errorReceived?(error: unknown): void;
}

export interface SubprocessProtocol extends BaseProtocol {
  connectionMade?(transport: SubprocessTransport): void;
  pipeDataReceived?(fd: number, data: Uint8Array): void;
  pipeConnectionLost?(fd: number, error: unknown): void;
  processExited?(): void;
}
