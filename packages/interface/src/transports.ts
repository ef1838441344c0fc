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

/**
 * asyncio's `WriteTransport`: `write` sends at once where it can and buffers
 * the rest. Buffered data is the caller's buffer itself, not a copy: do not
 * change a buffer after writing it. Above the high-water mark (64 KiB by
 * default, low 16 KiB) the protocol's `pauseWriting` is called, and
 * `resumeWriting` once the buffer drains to the low mark. Writes after the
 * connection is lost are ignored (a warning is logged after a few).
 */
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

/** asyncio's `DatagramTransport`: `sendto` queues what the kernel cannot take now, with the same flow control as a stream. */
export interface DatagramTransport extends BaseTransport {
  /** Send to `addr`, or to the connected peer (then `addr` must be omitted or equal to it). */
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
