import type { BaseProtocol } from './protocols.js';

/** asyncio's `BaseTransport`. */
export interface BaseTransport {
  getExtraInfo(name: string, defaultValue?: unknown): unknown;
  isClosing(): boolean;
  /** Flush buffered data, then close; the protocol's `connectionLost(null)` is called once. */
  close(): void;
  setProtocol(protocol: BaseProtocol): void;
  getProtocol(): BaseProtocol;
}

/** asyncio's `ReadTransport`. */
export interface ReadTransport extends BaseTransport {
  isReading(): boolean;
  pauseReading(): void;
  resumeReading(): void;
}

/** asyncio's `WriteTransport`: `write` sends at once where it can and buffers the rest. */
export interface WriteTransport extends BaseTransport {
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

export interface Transport extends ReadTransport, WriteTransport {}

export interface DatagramTransport extends BaseTransport {
  sendto(data: Uint8Array, addr?: unknown): void;
  abort(): void;
}

export interface SubprocessTransport extends BaseTransport {
  getPid(): number;
  getReturncode(): number | null;
  getPipeTransport(fd: number): BaseTransport | null;
  sendSignal(signal: NodeJS.Signals | number): void;
  terminate(): void;
  kill(): void;
}
