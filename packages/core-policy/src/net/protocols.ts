import type {
  Address,
  BaseTransport,
  BufferedProtocol as BufferedProtocolContract,
  DatagramProtocol as DatagramProtocolContract,
  DatagramTransport,
  Protocol as ProtocolContract,
  SubprocessProtocol as SubprocessProtocolContract,
  SubprocessTransport,
  Transport,
} from '@evloop/interface';

/**
 * Base classes with asyncio's no-op defaults; subclass and override what you
 * need. Each is generic over the transport `connectionMade` receives, so a
 * subclass can keep it with its full type:
 * `class Echo extends Protocol<Transport> { connectionMade(transport: Transport) { ... } }`.
 */
export class BaseProtocol<T extends BaseTransport = BaseTransport> {
  connectionMade(_transport: T): void {}
  connectionLost(_error: unknown): void {}
  pauseWriting(): void {}
  resumeWriting(): void {}
}

/** A stream protocol: TCP, Unix, TLS and pipe connections. */
export class Protocol<T extends BaseTransport = Transport> extends BaseProtocol<T> implements ProtocolContract<T> {
  dataReceived(_data: Buffer): void {}
  eofReceived(): boolean | void {}
}

export abstract class BufferedProtocol<T extends BaseTransport = Transport> extends BaseProtocol<T> implements BufferedProtocolContract<T> {
  abstract getBuffer(sizeHint: number): Uint8Array;
  abstract bufferUpdated(nbytes: number): void;
  eofReceived(): boolean | void {}
}

/**
 * A datagram protocol; `A` is the senders' address type: `InetAddress` for
 * UDP (`class Echo extends DatagramProtocol<InetAddress>`), a path for Unix
 * datagrams (null from a sender without a name).
 */
export class DatagramProtocol<A extends Address | null = Address | null> extends BaseProtocol<DatagramTransport<Exclude<A, null>>> implements DatagramProtocolContract<A> {
  datagramReceived(_data: Buffer, _addr: A): void {}
  errorReceived(_error: unknown): void {}
}

export class SubprocessProtocol extends BaseProtocol<SubprocessTransport> implements SubprocessProtocolContract {
  pipeDataReceived(_fd: number, _data: Buffer): void {}
  pipeConnectionLost(_fd: number, _error: unknown): void {}
  processExited(): void {}
}
