import type {
  BaseTransport,
  BufferedProtocol as BufferedProtocolContract,
  DatagramProtocol as DatagramProtocolContract,
  Protocol as ProtocolContract,
  SubprocessProtocol as SubprocessProtocolContract,
} from '@evloop/interface';

/** Base classes with asyncio's no-op defaults; subclass and override what you need. */
export class BaseProtocol {
  connectionMade(_transport: BaseTransport): void {}
  connectionLost(_error: unknown): void {}
  pauseWriting(): void {}
  resumeWriting(): void {}
}

export class Protocol extends BaseProtocol implements ProtocolContract {
  dataReceived(_data: Uint8Array): void {}
  eofReceived(): boolean | void {}
}

export abstract class BufferedProtocol extends BaseProtocol implements BufferedProtocolContract {
  abstract getBuffer(sizeHint: number): Uint8Array;
  abstract bufferUpdated(nbytes: number): void;
  eofReceived(): boolean | void {}
}

export class DatagramProtocol extends BaseProtocol implements DatagramProtocolContract {
  datagramReceived(_data: Uint8Array, _addr: unknown): void {}
  errorReceived(_error: unknown): void {}
}

export class SubprocessProtocol extends BaseProtocol implements SubprocessProtocolContract {
  pipeDataReceived(_fd: number, _data: Uint8Array): void {}
  pipeConnectionLost(_fd: number, _error: unknown): void {}
  processExited(): void {}
}
