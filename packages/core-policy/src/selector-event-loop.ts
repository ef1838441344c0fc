import {
  EVENT_READ,
  EVENT_WRITE,
  OSError,
  fileobjToFd,
  type BackendDescriptor,
  type BaseSelector,
  type FileObject,
} from '@evloop/interface';
import { BaseEventLoop } from './base-event-loop.js';
import { Handle } from './handles.js';
import { resolveBackend } from './discovery.js';

type ReaderWriter = [reader: Handle | null, writer: Handle | null];

/**
 * asyncio's `SelectorEventLoop`: the loop on a readiness backend. Give it a
 * selector (`new SelectorEventLoop(new PollSelector())`), or let it make one
 * from the backend the default policy would choose.
 */
export class SelectorEventLoop extends BaseEventLoop {
  readonly backend: BackendDescriptor | undefined;
  /** @internal */ readonly _selector: BaseSelector<ReaderWriter>;

  constructor(selector?: BaseSelector, options: { backend?: BackendDescriptor } = {}) {
    super();
    if (selector === undefined) {
      const descriptor = options.backend ?? resolveBackend();
      this.backend = descriptor;
      selector = descriptor.createSelector!();
    } else {
      this.backend = options.backend;
    }
    this._selector = selector as BaseSelector<ReaderWriter>;
  }

  /** The selector this loop polls. */
  get selector(): BaseSelector {
    return this._selector;
  }

  protected _pollBackend(): void {
    const selector = this._selector;
    if (selector.getMap().size === 0) return;
    const count = selector.selectInto(0);
    if (count === 0) return;
    const buffer = selector.readyBuffer;
    const map = selector.getMap();
    for (let i = 0; i < count; i++) {
      const fd = buffer[2 * i]!;
      const key = map.get(fd);
      if (key === undefined) continue;
      const events = buffer[2 * i + 1]! & key.events;
      const [reader, writer] = key.data;
      if ((events & EVENT_READ) !== 0 && reader !== null) {
        if (reader._cancelled) this._removeCallback(fd, EVENT_READ);
        else this._addReady(reader);
      }
      if ((events & EVENT_WRITE) !== 0 && writer !== null) {
        if (writer._cancelled) this._removeCallback(fd, EVENT_WRITE);
        else this._addReady(writer);
      }
    }
  }

  protected _startWatching(onReady: () => void): void {
    this._selector.watch(onReady);
  }

  protected _stopWatching(): void {
    this._selector.unwatch();
  }

  protected _closeBackend(): void {
    this._selector.close();
  }

  /**
   * Call `callback(...args)` whenever `fd` is readable, until `removeReader`.
   * Replaces an earlier reader of the same fd. An fd the backend cannot watch
   * (a regular file on epoll) throws an `OSError` that says so.
   */
  addReader<A extends unknown[]>(fd: FileObject, callback: (...args: A) => unknown, ...args: A): void {
    this._addCallback(fd, EVENT_READ, callback as (...args: unknown[]) => unknown, args);
  }

  /** Stop watching `fd` for reading; returns whether a reader was removed. */
  removeReader(fd: FileObject): boolean {
    if (this._closed) return false;
    return this._removeCallback(fileobjToFd(fd), EVENT_READ);
  }

  addWriter<A extends unknown[]>(fd: FileObject, callback: (...args: A) => unknown, ...args: A): void {
    this._addCallback(fd, EVENT_WRITE, callback as (...args: unknown[]) => unknown, args);
  }

  removeWriter(fd: FileObject): boolean {
    if (this._closed) return false;
    return this._removeCallback(fileobjToFd(fd), EVENT_WRITE);
  }

  /** @internal */
  _addCallback(fileobj: FileObject, event: number, callback: (...args: unknown[]) => unknown, args: unknown[]): void {
    this._checkClosed();
    if (typeof callback !== 'function') throw new TypeError(`callback must be a function, got ${typeof callback}`);
    const fd = fileobjToFd(fileobj);
    const handle = new Handle(callback, args.length === 0 ? null : args, this);
    const selector = this._selector;
    const key = selector.getMap().get(fd);
    try {
      if (key === undefined) {
        selector.register(fd, event, event === EVENT_READ ? [handle, null] : [null, handle]);
        return;
      }
      const [reader, writer] = key.data;
      const data: ReaderWriter = event === EVENT_READ ? [handle, writer] : [reader, handle];
      if ((key.events & event) !== 0) {
        // Same events: the fd may have been closed and its number reused
        // since; register it afresh so the new file is really watched.
        selector.unregister(fd);
        selector.register(fd, key.events, data);
      } else {
        selector.modify(fd, key.events | event, data);
      }
      const previous = event === EVENT_READ ? reader : writer;
      previous?.cancel();
    } catch (error) {
      throw explainRegisterError(error, fd, this._selector.backendName);
    }
  }

  /** @internal */
  _removeCallback(fd: number, event: number): boolean {
    const selector = this._selector;
    const key = selector.getMap().get(fd);
    if (key === undefined) return false;
    const [reader, writer] = key.data;
    const mask = key.events & ~event;
    if (mask === 0) selector.unregister(fd);
    else selector.modify(fd, mask, event === EVENT_READ ? [null, writer] : [reader, null]);
    const handle = event === EVENT_READ ? reader : writer;
    if (handle === null) return false;
    handle.cancel();
    return true;
  }
}

function explainRegisterError(error: unknown, fd: number, backendName: string): unknown {
  if (OSError.isInstance(error) && error.code === 'EPERM') {
    const explained = new OSError(
      error.errno,
      error.syscall,
      `fd ${fd} cannot be watched by the ${backendName} backend (${error.code}): regular files and directories are always ready; read them with node:fs instead`,
      error.code,
    );
    Object.setPrototypeOf(explained, Object.getPrototypeOf(error));
    return explained;
  }
  return error;
}
