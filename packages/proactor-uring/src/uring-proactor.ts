import {
  COMPLETION_STRIDE,
  EVENT_PRIORITY,
  EVENT_READ,
  EVENT_WRITE,
  NotImplementedError,
  READ_SLAB_MIN_FREE,
  RuntimeError,
  checkBytes as sharedCheckBytes,
  checkFlags as sharedCheckFlags,
  checkOffset,
  checkPollEvents,
  checkPosition,
  checkSize as sharedCheckSize,
  describeArgument as describe,
  fileobjToFd,
  spanOf as sharedSpanOf,
  timeoutToMs,
  toOSError,
  type FileObject,
  type Proactor,
  type ProactorAddress,
} from '@evloop/interface';
import { closeSync } from 'node:fs';
import { loadNative, runtimeNeedsHelperThread, type NativeRing, type RingFeatures, type UringNative } from './load-native.js';

/** Options of `new UringProactor()`. */
export interface UringProactorOptions {
  /** Submission queue size (a power of two; the completion queue is four times larger). Default 4096. */
  entries?: number;
  /**
   * Set the ring up with `DEFER_TASKRUN | SINGLE_ISSUER | COOP_TASKRUN` when
   * the kernel has them (6.1+), so completions are only processed when the
   * loop asks for them. Default true; the ring falls back on its own, and
   * also, where the idle wait is on the ring's eventfd (a helper thread, or
   * `idleWaitInRing: false`), when the kernel signals that eventfd late for
   * deferred work (`features.deferTaskrunDeclined`), which would delay every
   * wake-up of an idle loop.
   */
  deferTaskrun?: boolean;
  /**
   * In Node (libuv), let an idle loop wait in the ring itself: one
   * `io_uring_enter` submits what was queued and sleeps until a completion,
   * libuv's own fd and timers included (`features.idleWaitInRing`; Linux
   * 5.11+). Default true. The wait is added to libuv's idle time, so
   * `performance.eventLoopUtilization()` reads as when libuv waits (libuv
   * 1.45 and later, Node 20 on, after checking libuv's figures; where that
   * check fails the wait counts as busy time). With false, libuv waits on
   * the ring's eventfd, at the cost of more syscalls per wake-up.
   */
  idleWaitInRing?: boolean;
  /**
   * Wait for the ring's eventfd on a helper thread instead of through a
   * libuv poll handle when the loop is idle, and submit what was queued at
   * the end of each JavaScript turn (a microtask) instead of from a libuv
   * prepare hook. Defaults to `runtimeNeedsHelperThread()`: true under Bun
   * and Deno, where `false` raises `RuntimeError` (they have no usable libuv).
   */
  helperThread?: boolean;
  /**
   * Let a connection's multishot receive turn into a readiness receive (a
   * multishot poll, then recv(2) straight into the read slab) while its
   * receives are large (2 KiB or more, twice in a row), and back when they
   * get small (under 1 KiB, eight times in a row). Default true.
   */
  bulkReadiness?: boolean;
}

/** How a multishot receive (`recvMany`) is receiving now. */
const enum Mode {
  /** Into provided buffers, copied out by the harvest. */
  Multishot,
  /** Its multishot receive is being cancelled; a readiness receive follows. */
  ToReadiness,
  /** A multishot poll; the harvest receives straight into the slab. */
  Readiness,
  /** Its poll is being cancelled; a multishot receive follows. */
  ToMultishot,
  /** Its end (EOF, an error) was reported; the poll's cancel has not completed yet. */
  Ended,
}

const enum Kind {
  Recv,
  RecvInto,
  Send,
  SendTo,
  RecvFrom,
  RecvFromInto,
  Accept,
  AcceptMany,
  RecvMany,
  Connect,
  /** A sendfile(2) that found the socket full: a POLLOUT poll, then another sendfile(2). */
  SendfilePoll,
  /** A sendfile(2) done when started: a NOP carries its result (`sendfile.result`) to the next poll. */
  SendfileDone,
  /** The copy of a sendfile to a blocking socket: a read into a buffer, then its send. */
  SendfileRead,
  SendfileSend,
  Read,
  Write,
  Poll,
  /** A poll that watches for priority data: the ring polls an epoll instance of the fd's own (`#priorityInstances`). */
  PriorityPoll,
}

/** Everything an operation holds on to until its completion is harvested. */
interface Operation {
  kind: Kind;
  fd: number;
  /** The data buffer (the caller's or ours): the kernel's until harvested. */
  buffer: Uint8Array | null;
  /** msghdr/iovec/sockaddr space for message, accept and connect operations. */
  scratch: Uint8Array | null;
  /** Poll: the events asked for. SendfileRead: the socket. SendfilePoll/SendfileDone: the file. */
  extra: number;
  cancelRequested: boolean;
  /** SendfilePoll and SendfileDone: what the next sendfile(2) needs, or its result. */
  sendfile: SendfileState | null;
  /** RecvMany: how it receives now (Mode). */
  mode: Mode;
  /** RecvMany: receives in a row that filled a provided buffer (Multishot), or were small (Readiness). */
  streak: number;
}

interface SendfileState {
  offset: number;
  count: number;
  /** The socket's and the file's inode numbers, checked before a sendfile(2) after a poll. */
  identity: Float64Array;
  /** SendfileDone: the bytes sent or -errno. */
  result: number;
}

const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const MSG_NOSIGNAL = 0x4000;
const POLLIN = 0x1;
const POLLPRI = 0x2;
const POLLOUT = 0x4;
const POLLERR = 0x8;
const POLLHUP = 0x10;
const POLLRDHUP = 0x2000;
/** epoll's EPOLLPRI (epoll events share poll(2)'s bits on Linux). */
const EPOLLPRI = POLLPRI;
const EINVAL = 22;
const EAGAIN = 11;
const EPIPE = 32;
/** What sendfileStart/sendfile answer that is no errno (kSendfileBlocking, kSendfileNotRegular in addon.cc). */
const SENDFILE_BLOCKING = -(1 << 20);
const SENDFILE_NOT_REGULAR = -(1 << 20) - 1;
const EIO = 5;
const ECANCELED = 125;
const IORING_CQE_F_MORE = 2;
const IORING_CQE_F_BUFFER = 1;
/**
 * Provided buffers for multishot receives: 128 of 32 KiB (4 MiB per
 * proactor). 32 KiB halves a bulk stream's completions against 16 KiB and
 * measured cheaper per MB than both 16 and 64 KiB (docs/backends.md).
 */
const PROVIDED_BUFFERS = 128;
const PROVIDED_BUFFER_SIZE = 32 * 1024;
/**
 * Multishot receives in a row of at least BULK_READ bytes before a
 * connection switches to a readiness receive. Not only bulk streams: the
 * harvest's copy of a 4 KiB receive out of its provided buffer cost more
 * than the poll completion and recv(2) that replace it (docs/backends.md),
 * while a receive of 1 KiB or less (64 B messages, even 16 in flight) is
 * cheaper copied.
 */
const BULK_STREAK = 2;
const BULK_READ = 2048;
/** Readiness reads in a row under SMALL_READ bytes before it goes back to a multishot receive. */
const SMALL_STREAK = 8;
const SMALL_READ = 1024;
/** Flags the harvest sets on a readiness receive's reports (kReadinessDetached, kReadinessRearm in uring.h). */
const READINESS_DETACHED = 1 << 30;
const READINESS_REARM = 1 << 29;
/** The memory received bytes are copied into and handed out from, as views (a new one when its room runs low). */
const SLAB_SIZE = 256 * 1024;
/**
 * A fresh slab is made when less than this is left (the shared
 * READ_SLAB_MIN_FREE: interface's read-memory.ts says why it is small), or
 * when a completion did not fit what was left (a provided buffer holds up
 * to 32 KiB). A readiness receive stops at this much room too
 * (kMinReadinessRoom in uring.cc, which must match).
 */
const SLAB_MIN_FREE: number = READ_SLAB_MIN_FREE;
/**
 * Module-level copies of the contract's constants for the hot paths: read
 * through a CommonJS build's re-export getters they cost a call each.
 */
const STRIDE: number = COMPLETION_STRIDE;
const READ: number = EVENT_READ;
const WRITE: number = EVENT_WRITE;
const toMs = timeoutToMs;
const checkSize: typeof sharedCheckSize = sharedCheckSize;
const checkFlags: typeof sharedCheckFlags = sharedCheckFlags;
const checkBytes: typeof sharedCheckBytes = sharedCheckBytes;
const spanOf = sharedSpanOf;
const MAX_TOKEN = 0x7fffffff;
/** Bytes one sendfile step to a blocking socket reads from the file and sends. */
const SENDFILE_CHUNK = 256 * 1024;
/** How long close() waits for the kernel to give cancelled operations back. */
const CLOSE_WAIT_MS = 2000;
const MIN_COMPLETIONS = 256;

/**
 * Operations whose buffers the kernel still held when their proactor was
 * closed: kept referenced for the life of the process rather than freed
 * under the kernel.
 */
const abandoned: Operation[] = [];
const EMPTY = Buffer.alloc(0);

/**
 * The io_uring proactor: CPython's `IocpProactor` shape over Linux's
 * io_uring. Operations go into the submission queue at once and reach the
 * kernel in one `io_uring_enter` per `poll()` (or before Node blocks, when
 * the loop is idle; at the end of the JavaScript turn with a helper-thread
 * wait); completions are harvested in bulk into `completions`.
 */
export class UringProactor implements Proactor {
  readonly backendName = 'uring';
  readonly #native: UringNative;
  readonly #ring: NativeRing;
  readonly #operations = new Map<number, Operation>();
  /** PriorityPoll operations' epoll instances, by token, until harvested. */
  readonly #priorityInstances = new Map<number, number>();
  readonly #features: Readonly<RingFeatures & { multishotRecv: boolean; directSend: boolean }>;
  /** The provided buffers' memory (multishot receives), or null without them. */
  #provided: Uint8Array | null = null;
  /** Where the native harvest copies received bytes (multishot receives only), and how much of it is handed out. */
  #slab: Buffer | null = null;
  #slabUsed = 0;
  /**
   * The views the last harvest copied into the current slab, in slab order,
   * with their offsets there; a view given back (`releaseReceived`) is
   * undefined. A run of given-back views at the slab's end is copied into
   * again by the next harvest.
   */
  #copied: Array<Buffer | undefined> = [];
  #copiedAt: number[] = [];
  #copiedCount = 0;
  /** Values of the last poll's multishot receives, by completion index. */
  #values: Array<Buffer | undefined> = [];
  #completions = new Int32Array(MIN_COMPLETIONS * COMPLETION_STRIDE);
  /** The operations of the last poll's completions, by completion index. */
  #harvested: Array<Operation | undefined> = [];
  #harvestedCount = 0;
  #spareScratch: Uint8Array[] = [];
  #nextToken = 1;
  #closed = false;
  /** A wake-up came and the eventfd has not been read since: the next poll reads it. */
  #drainPending = false;
  /** The identity array the next sendfile(2) fills in if it has to wait (then the operation keeps it). */
  #identity = new Float64Array(4);
  /** Helper-thread wait: a flush of the submission queue is scheduled; the watch's callback, to wake the loop if that flush fails. */
  #flushScheduled = false;
  #wake: (() => void) | null = null;
  readonly #bulkReadiness: boolean;
  readonly #receiveSwitches = { toReadiness: 0, toMultishot: 0 };

  constructor(options: UringProactorOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
    const entries = options.entries ?? 4096;
    if (typeof entries !== 'number' || !Number.isInteger(entries) || entries < 1 || entries > 32768) {
      throw new RangeError(`options.entries must be an integer in [1, 32768], got ${String(entries)}`);
    }
    const deferTaskrun = options.deferTaskrun ?? true;
    if (typeof deferTaskrun !== 'boolean') throw new TypeError('options.deferTaskrun must be a boolean');
    const needsHelperThread = runtimeNeedsHelperThread();
    const helperThread = options.helperThread ?? needsHelperThread;
    if (typeof helperThread !== 'boolean') throw new TypeError(`options.helperThread must be a boolean, got ${typeof helperThread}`);
    if (!helperThread && needsHelperThread) {
      throw new RuntimeError('@evloop/proactor-uring cannot wait through libuv in this runtime (Bun and Deno have no usable libuv): leave options.helperThread unset or true');
    }
    const idleWaitInRing = options.idleWaitInRing ?? true;
    if (typeof idleWaitInRing !== 'boolean') throw new TypeError(`options.idleWaitInRing must be a boolean, got ${typeof idleWaitInRing}`);
    const bulkReadiness = options.bulkReadiness ?? true;
    if (typeof bulkReadiness !== 'boolean') throw new TypeError('options.bulkReadiness must be a boolean');
    this.#bulkReadiness = bulkReadiness;
    const native = loadNative();
    if (native.unsupportedReason !== undefined) throw new RuntimeError(`@evloop/proactor-uring cannot create a proactor: ${native.unsupportedReason}`);
    this.#native = native;
    try {
      this.#ring = helperThread ? new this.#native.Ring(entries, deferTaskrun, () => this.#scheduleFlush()) : new this.#native.Ring(entries, deferTaskrun, undefined, idleWaitInRing);
    } catch (error) {
      throw toOSError(error);
    }
    const features = this.#ring.features();
    // Multishot receive needs provided-buffer rings (5.19+): without them
    // (an older kernel, or too little locked memory) it is simply not offered.
    if (features.providedBufferRings) {
      try {
        this.#provided = new Uint8Array(this.#ring.setupBuffers(PROVIDED_BUFFERS, PROVIDED_BUFFER_SIZE));
      } catch {
        this.#provided = null;
      }
    }
    if (this.#provided !== null) this.#slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
    // A send(2) on a socket's fd beside the ring keeps the byte order as long
    // as no ring send is in flight on it (the socket transport checks that).
    this.#features = Object.freeze({ ...features, multishotRecv: this.#provided !== null, directSend: true });
    this.acceptMany = this.#features.multishotAccept ? (fileobj) => this.#acceptMany(fileobj) : undefined;
    this.recvMany = this.#provided !== null ? (fileobj) => this.#recvMany(fileobj) : undefined;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get pending(): number {
    return this.#operations.size;
  }

  get features(): Readonly<RingFeatures & { multishotRecv: boolean; directSend: boolean }> {
    return this.#features;
  }

  get completions(): Int32Array {
    return this.#completions;
  }

  /**
   * How many times a multishot receive switched to a readiness receive (a
   * bulk stream) and back, since the proactor was made: for diagnostics.
   */
  get receiveSwitches(): Readonly<{ toReadiness: number; toMultishot: number }> {
    return { ...this.#receiveSwitches };
  }

  fileno(): number {
    this.#checkOpen();
    return this.#ring.fileno();
  }

  recv(fileobj: FileObject, nbytes: number, flags = 0): number {
    const fd = this.#fd(fileobj);
    checkSize(nbytes, 'nbytes');
    checkFlags(flags);
    const buffer = Buffer.allocUnsafe(nbytes);
    return this.#start(Kind.Recv, fd, buffer, null, 0, (token) => this.#ring.recv(token, fd, buffer, 0, nbytes, flags));
  }

  recvInto(fileobj: FileObject, buffer: Uint8Array, nbytes = 0, flags = 0): number {
    const fd = this.#fd(fileobj);
    const length = spanOf(buffer, nbytes);
    checkFlags(flags);
    return this.#start(Kind.RecvInto, fd, buffer, null, 0, (token) => this.#ring.recv(token, fd, buffer, 0, length, flags));
  }

  send(fileobj: FileObject, data: Uint8Array, flags = 0): number {
    const fd = this.#fd(fileobj);
    checkBytes(data, 'data');
    checkFlags(flags);
    return this.#start(Kind.Send, fd, data, null, 0, (token) => this.#ring.send(token, fd, data, 0, data.byteLength, flags | MSG_NOSIGNAL));
  }

  sendto(fileobj: FileObject, data: Uint8Array, address: ProactorAddress, flags = 0): number {
    const fd = this.#fd(fileobj);
    checkBytes(data, 'data');
    checkFlags(flags);
    const scratch = this.#scratch();
    const length = this.#encodeAddress(fd, scratch, address);
    return this.#start(Kind.SendTo, fd, data, scratch, 0, (token) =>
      this.#ring.sendmsg(token, fd, data, 0, data.byteLength, flags | MSG_NOSIGNAL, scratch, length),
    );
  }

  recvfrom(fileobj: FileObject, nbytes: number, flags = 0): number {
    const fd = this.#fd(fileobj);
    checkSize(nbytes, 'nbytes');
    checkFlags(flags);
    const buffer = Buffer.allocUnsafe(nbytes);
    const scratch = this.#scratch();
    return this.#start(Kind.RecvFrom, fd, buffer, scratch, 0, (token) => this.#ring.recvmsg(token, fd, buffer, 0, nbytes, flags, scratch, 0));
  }

  recvfromInto(fileobj: FileObject, buffer: Uint8Array, nbytes = 0, flags = 0): number {
    const fd = this.#fd(fileobj);
    const length = spanOf(buffer, nbytes);
    checkFlags(flags);
    const scratch = this.#scratch();
    return this.#start(Kind.RecvFromInto, fd, buffer, scratch, 0, (token) => this.#ring.recvmsg(token, fd, buffer, 0, length, flags, scratch, 0));
  }

  accept(fileobj: FileObject): number {
    const fd = this.#fd(fileobj);
    const scratch = this.#scratch();
    return this.#start(Kind.Accept, fd, null, scratch, 0, (token) => this.#ring.accept(token, fd, scratch));
  }

  /**
   * Multishot accept, when the kernel has it (5.19+; `features.multishotAccept`):
   * see `Proactor.acceptMany`. Undefined on an older kernel, so callers fall
   * back to one `accept` per connection.
   */
  readonly acceptMany: ((fileobj: FileObject) => number) | undefined;
  /**
   * Multishot receive into provided buffers, when the kernel has them (5.19+;
   * `features.multishotRecv`): see `Proactor.recvMany`. Undefined otherwise.
   */
  readonly recvMany: ((fileobj: FileObject) => number) | undefined;

  #recvMany(fileobj: FileObject): number {
    const fd = this.#fd(fileobj);
    return this.#start(Kind.RecvMany, fd, null, null, 0, (token) => this.#ring.recvMultishot(token, fd));
  }

  /**
   * `view`, a value of the last poll's multishot receives, is read for good
   * (see `Proactor.releaseReceived`): if it and every view after it in the
   * slab are given back before the next poll, that poll copies into their
   * room again. Anything else is ignored.
   */
  releaseReceived(view: Uint8Array): void {
    if (!(view instanceof Uint8Array)) throw new TypeError(`view must be a Uint8Array, got ${describe(view)}`);
    const slab = this.#slab;
    if (slab === null || view.buffer !== slab.buffer) return;
    const at = view.byteOffset - slab.byteOffset;
    const starts = this.#copiedAt;
    let low = 0;
    let high = this.#copiedCount - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const start = starts[middle]!;
      if (start === at) {
        if (this.#copied[middle] === view) this.#copied[middle] = undefined;
        return;
      }
      if (start < at) low = middle + 1;
      else high = middle - 1;
    }
  }

  #acceptMany(fileobj: FileObject): number {
    const fd = this.#fd(fileobj);
    return this.#start(Kind.AcceptMany, fd, null, null, 0, (token) => this.#ring.acceptMultishot(token, fd));
  }

  connect(fileobj: FileObject, address: ProactorAddress): number {
    const fd = this.#fd(fileobj);
    const scratch = this.#scratch();
    const length = this.#encodeAddress(fd, scratch, address);
    return this.#start(Kind.Connect, fd, null, scratch, 0, (token) => this.#ring.connect(token, fd, scratch, length));
  }

  /**
   * io_uring has no sendfile opcode: a sendfile(2) on the non-blocking
   * socket, at once (zero-copy, as the selector loops send); when the socket
   * is full, a POLLOUT poll under the token and another sendfile(2) when it
   * completes. A step done at once reaches the next poll() through a NOP. A
   * file sendfile(2) cannot read (a pipe) raises NotImplementedError: the
   * loop copies instead. A blocking socket gets a read and a send through
   * the ring.
   */
  sendfile(sock: FileObject, file: FileObject, offset: number, count: number): number {
    const sockFd = this.#fd(sock);
    const fileFd = fileobjToFd(file);
    checkOffset(offset);
    checkSize(count, 'count');
    const identity = this.#identity;
    identity[0] = 0;
    const token = this.#allocateToken();
    // The submission entry (a poll or a no-op) is taken before the
    // sendfile(2): bytes sent always reach a completion.
    const sent = callNative(() => this.#ring.sendfileStart(token, sockFd, fileFd, offset, count, identity));
    if (sent === SENDFILE_NOT_REGULAR) throw new NotImplementedError('the io_uring proactor sends only regular files with sendfile(2)');
    if (sent !== SENDFILE_BLOCKING) {
      const waiting = sent === -EAGAIN;
      // A waiting operation keeps its identity array; the next sendfile gets a fresh one.
      if (waiting) this.#identity = new Float64Array(4);
      const sendfile: SendfileState = { offset, count, identity, result: sent };
      const kind = waiting ? Kind.SendfilePoll : Kind.SendfileDone;
      this.#operations.set(token, { kind, fd: sockFd, buffer: null, scratch: null, extra: fileFd, cancelRequested: false, sendfile, mode: Mode.Multishot, streak: 0 });
      return token;
    }
    const length = Math.min(count, SENDFILE_CHUNK);
    const buffer = Buffer.allocUnsafe(length);
    // Step one reads the file at `offset`; poll() turns its completion into
    // step two, the send, under the same token.
    return this.#start(Kind.SendfileRead, fileFd, buffer, null, sockFd, (token) => this.#ring.read(token, fileFd, buffer, 0, length, offset));
  }

  read(fileobj: FileObject, nbytes: number, position: number | null = null): number {
    const fd = this.#fd(fileobj);
    checkSize(nbytes, 'nbytes');
    const at = checkPosition(position);
    const buffer = Buffer.allocUnsafe(nbytes);
    return this.#start(Kind.Read, fd, buffer, null, 0, (token) => this.#ring.read(token, fd, buffer, 0, nbytes, at));
  }

  write(fileobj: FileObject, data: Uint8Array, position: number | null = null): number {
    const fd = this.#fd(fileobj);
    checkBytes(data, 'data');
    const at = checkPosition(position);
    return this.#start(Kind.Write, fd, data, null, 0, (token) => this.#ring.write(token, fd, data, 0, data.byteLength, at));
  }

  pollAdd(fileobj: FileObject, events: number): number {
    const fd = this.#fd(fileobj);
    checkPollEvents(events);
    if ((events & EVENT_PRIORITY) !== 0) {
      // A POLLPRI IORING_OP_POLL_ADD on a TCP socket never completes when
      // urgent data arrives (with POLLIN asked too it does, but then unread
      // ordinary data would wake it over and over), while epoll reports
      // EPOLLPRI: the fd goes into an epoll instance of its own, which the
      // ring polls; the harvest reads what it reports and closes it.
      let mask = EPOLLPRI;
      if ((events & EVENT_READ) !== 0) mask |= POLLIN | POLLRDHUP;
      if ((events & EVENT_WRITE) !== 0) mask |= POLLOUT;
      let instance = -1;
      const token = this.#start(Kind.PriorityPoll, fd, null, null, events, (token) => {
        instance = this.#ring.priorityPollAdd(token, fd, mask);
      });
      this.#priorityInstances.set(token, instance);
      return token;
    }
    let mask = 0;
    if ((events & EVENT_READ) !== 0) mask |= POLLIN | POLLPRI | POLLRDHUP;
    if ((events & EVENT_WRITE) !== 0) mask |= POLLOUT;
    return this.#start(Kind.Poll, fd, null, null, events, (token) => this.#ring.pollAdd(token, fd, mask));
  }

  cancel(token: number): boolean {
    this.#checkOpen();
    if (typeof token !== 'number' || !Number.isInteger(token)) throw new TypeError(`token must be an integer, got ${typeof token}`);
    const operation = this.#operations.get(token);
    if (operation === undefined) return false;
    if (!operation.cancelRequested) {
      operation.cancelRequested = true;
      callNative(() => this.#ring.cancel(token));
    }
    return true;
  }

  cancelFd(fileobj: FileObject): number {
    this.#checkOpen();
    const fd = fileobjToFd(fileobj);
    let count = 0;
    for (const [token, operation] of this.#operations) {
      if (operation.fd !== fd && !((operation.kind === Kind.SendfileRead || operation.sendfile !== null) && operation.extra === fd)) continue;
      this.cancel(token);
      count++;
    }
    // Hand everything queued so far to the kernel now: once this returns the
    // caller may close the fd, and an operation still in the submission
    // queue would otherwise find a reused fd number at submission.
    if (count > 0) callNative(() => this.#ring.submit(0));
    return count;
  }

  poll(timeout?: number | null): number {
    this.#checkOpen();
    const waitMs = toMs(timeout);
    this.#releaseHarvested();
    if (this.#operations.size === 0 && waitMs === 0) {
      this.#drainEventFd();
      return 0;
    }
    const drain = this.#drainPending;
    this.#drainPending = false;
    return this.#harvest(waitMs, drain);
  }

  #drainEventFd(): void {
    if (!this.#drainPending) return;
    this.#drainPending = false;
    this.#ring.drain();
  }

  /**
   * Submit what was started and say whether completions are waiting,
   * without taking them: the next `poll()` does. (A virtual clock asks this
   * before letting time jump.)
   */
  hasCompletions(): boolean {
    this.#checkOpen();
    if (this.#operations.size === 0) return false;
    return callNative(() => this.#ring.ready());
  }

  completionValue(index: number): unknown {
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= this.#harvestedCount) return undefined;
    const operation = this.#harvested[index];
    const result = this.#completions[index * STRIDE + 1]!;
    if (operation === undefined || result < 0) return undefined;
    switch (operation.kind) {
      case Kind.Recv:
      case Kind.Read:
        return (operation.buffer as Buffer).subarray(0, result);
      case Kind.RecvFrom:
        return [(operation.buffer as Buffer).subarray(0, result), this.#decodeAddress(operation.scratch!, true)];
      case Kind.RecvFromInto:
        return [result, this.#decodeAddress(operation.scratch!, true)];
      case Kind.Accept:
        return [result, this.#decodeAddress(operation.scratch!, false)];
      case Kind.AcceptMany:
        return [result, null];
      case Kind.RecvMany:
        return this.#values[index] ?? EMPTY;
      default:
        return undefined;
    }
  }

  /**
   * Helper-thread wait: an operation was queued while none was (the ring
   * calls this). Nothing submits before the runtime blocks there, so the
   * queue is flushed at the end of this JavaScript turn. (With the loop
   * busy, the flush's io_uring_enter takes the place of the next poll's:
   * that poll then finds nothing to submit and, unless the kernel flags
   * more completion work, makes no syscall.)
   */
  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(this.#flushBound);
  }

  readonly #flushBound = (): void => {
    this.#flushScheduled = false;
    if (this.#closed) return;
    try {
      this.#ring.flush();
    } catch {
      // The entries stay queued and the next poll's io_uring_enter meets
      // the same error and reports it: wake the loop for that poll.
      this.#wake?.();
    }
  };

  watch(onReady: () => void): void {
    this.#checkOpen();
    if (typeof onReady !== 'function') throw new TypeError('onReady must be a function');
    const ring = this.#ring;
    const wake = (inRing?: boolean) => {
      // From the wait in the ring (inRing, see IdleWait in addon.cc) the
      // eventfd was switched off and has nothing to read. Otherwise it is
      // read by the poll this wake-up starts (one native call for the
      // read, the io_uring_enter and the harvest). With nothing in flight
      // no poll may come, and a second wake-up before any poll means none
      // came: read it now, or libuv would report it again and again (the
      // helper thread too).
      if (inRing === true) {
        // Nothing to read.
      } else if (this.#drainPending || this.#operations.size === 0) {
        this.#drainPending = false;
        ring.drain();
      } else {
        this.#drainPending = true;
      }
      onReady();
    };
    callNative(() => ring.watch(wake));
    this.#wake = wake;
  }

  unwatch(): void {
    if (this.#closed) return;
    this.#wake = null;
    this.#ring.unwatch();
  }

  /**
   * Cancel what is in flight and wait (at most two seconds) until the
   * kernel has given every buffer back, then tear the ring down. Anything the
   * kernel still holds after that stays referenced for the process's life.
   */
  close(): void {
    if (this.#closed) return;
    this.#wake = null;
    this.#ring.unwatch();
    this.#releaseHarvested();
    if (this.#operations.size > 0) {
      for (const [token, operation] of this.#operations) {
        if (operation.cancelRequested) continue;
        operation.cancelRequested = true;
        try {
          this.#ring.cancel(token);
        } catch {
          // A full queue that cannot even be flushed: the wait below ends it.
        }
      }
      const deadline = performance.now() + CLOSE_WAIT_MS;
      while (this.#operations.size > 0) {
        const left = Math.ceil(deadline - performance.now());
        if (left <= 0) break;
        try {
          this.#ring.submit(left);
        } catch {
          break;
        }
        const count = this.#harvest();
        // A connection accepted while closing reaches nobody: close its fd.
        for (let i = 0; i < count; i++) {
          const result = this.#completions[i * STRIDE + 1]!;
          const kind = this.#harvested[i]!.kind;
          if ((kind === Kind.Accept || kind === Kind.AcceptMany) && result >= 0) closeQuietly(result);
        }
        this.#releaseHarvested();
      }
      for (const operation of this.#operations.values()) abandoned.push(operation);
      // Operations the kernel still holds may still write into the provided buffers.
      if (this.#operations.size > 0) this.#ring.keepBuffers();
      this.#operations.clear();
    }
    this.#closed = true;
    this.#spareScratch = [];
    this.#provided = null;
    this.#slab = null;
    this.#ring.close();
    // Priority polls never harvested: the ring is gone, so is its hold on them.
    for (const instance of this.#priorityInstances.values()) closeQuietly(instance);
    this.#priorityInstances.clear();
  }

  #checkOpen(): void {
    if (this.#closed) throw new RuntimeError('uring proactor is closed');
  }

  #fd(fileobj: FileObject): number {
    this.#checkOpen();
    return fileobjToFd(fileobj);
  }

  #start(kind: Kind, fd: number, buffer: Uint8Array | null, scratch: Uint8Array | null, extra: number, queue: (token: number) => void): number {
    const token = this.#allocateToken();
    try {
      queue(token);
    } catch (error) {
      if (scratch !== null) this.#spareScratch.push(scratch);
      throw toOSError(error);
    }
    this.#operations.set(token, { kind, fd, buffer, scratch, extra, cancelRequested: false, sendfile: null, mode: Mode.Multishot, streak: 0 });
    return token;
  }

  #allocateToken(): number {
    const operations = this.#operations;
    if (operations.size >= MAX_TOKEN - 1) throw new RuntimeError('too many operations in flight');
    let token = this.#nextToken;
    while (operations.has(token)) token = token === MAX_TOKEN ? 1 : token + 1;
    this.#nextToken = token === MAX_TOKEN ? 1 : token + 1;
    return token;
  }

  /**
   * Harvest everything the ring holds, growing the buffer as needed, and
   * settle each completion. The bytes of multishot receives are copied by
   * the native harvest into the current slab (and their provided buffers
   * given back to the kernel at once); each completion's value is a view of
   * its bytes there, in completion order.
   */
  #harvest(waitMs: number | null = null, drain = false): number {
    const ring = this.#ring;
    let enter = waitMs;
    const operations = this.#operations;
    const harvested = this.#harvested;
    const values = this.#values;
    let kept = 0;
    let slabFull = false;
    for (;;) {
      let completions = this.#completions;
      // Room for two: a readiness receive's bytes and its end come from one completion.
      if ((kept + 2) * STRIDE > completions.length) {
        const grown = new Int32Array(completions.length * 2);
        grown.set(completions);
        this.#completions = completions = grown;
      }
      let slab = this.#slab;
      let used = this.#slabUsed;
      if (slab !== null && (slab.length - used < SLAB_MIN_FREE || slabFull)) {
        // Views of the old slab stay valid; new bytes go to a fresh one.
        slab = this.#slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
        used = 0;
        this.#forgetCopied();
      }
      let got: number;
      if (enter === null) {
        got = slab === null ? ring.harvest(completions, kept) : ring.harvest(completions, kept, slab, used, slab.length - used);
      } else {
        // The first round of a poll: eventfd read, io_uring_enter and harvest in one call.
        try {
          got = slab === null ? ring.pollInto(enter, drain, completions, kept) : ring.pollInto(enter, drain, completions, kept, slab, used, slab.length - used);
        } catch (error) {
          throw toOSError(error);
        }
        enter = null;
      }
      // The harvest stopped at a completion the slab had no room for: the next round starts a fresh one.
      slabFull = got < 0;
      const end = kept + (slabFull ? -got - 1 : got);
      for (let i = kept; i < end; i++) {
        const base = i * STRIDE;
        const token = completions[base]!;
        let result = completions[base + 1]!;
        let flags = completions[base + 2]!;
        let bytes: Buffer | undefined;
        if ((flags & IORING_CQE_F_BUFFER) !== 0 && result > 0) {
          // Copied in completion order, whoever still waits for it.
          bytes = slab!.subarray(used, used + result);
          const count = this.#copiedCount++;
          this.#copied[count] = bytes;
          this.#copiedAt[count] = used;
          used += result;
        }
        const operation = operations.get(token);
        if (operation === undefined) continue;
        if (operation.kind === Kind.RecvMany) {
          if (operation.mode !== Mode.Multishot || this.#bulkReadiness) {
            const step = this.#receiveStep(token, operation, result, flags);
            if (step === null) continue;
            if (step !== result) {
              // Could not start the next receive: that error ends the operation.
              result = step;
              flags &= ~IORING_CQE_F_MORE;
            }
          }
          if ((flags & IORING_CQE_F_MORE) === 0 && operation.mode !== Mode.Ended) operations.delete(token);
        } else if ((flags & IORING_CQE_F_MORE) === 0) {
          operations.delete(token);
        }
        if (operation.kind === Kind.SendfilePoll) {
          const final = this.#sendfileAfterPoll(token, operation, result);
          if (final === null) continue;
          result = final;
        } else if (operation.kind === Kind.SendfileDone) {
          // The bytes went when the operation started: a cancel came too late.
          result = operation.sendfile!.result;
        } else if (operation.kind === Kind.SendfileRead) {
          const final = this.#continueSendfile(token, operation, result);
          if (final === null) continue;
          result = final;
        }
        if (operation.kind === Kind.Poll && result >= 0) {
          result = pollEvents(result, operation.extra);
        } else if (operation.kind === Kind.PriorityPoll) {
          const ready = this.#native.takePriorityEvents(this.#priorityInstances.get(token)!);
          this.#priorityInstances.delete(token);
          if (result >= 0) result = pollEvents(ready, operation.extra);
        }
        values[kept] = bytes;
        const out = kept * STRIDE;
        completions[out] = token;
        completions[out + 1] = result;
        completions[out + 2] = flags;
        harvested[kept] = operation;
        kept++;
      }
      this.#slabUsed = used;
      // Stop once the ring is empty: the harvest neither filled the buffer
      // (short of the two places a readiness completion may need) nor the slab.
      if (!slabFull && (end + 2) * STRIDE <= completions.length) break;
    }
    this.#harvestedCount = kept;
    return kept;
  }

  /**
   * A multishot receive's completion, as it moves between receiving into
   * provided buffers (Multishot) and receiving on readiness (Readiness): the
   * result to report, or null when the completion is the proactor's own
   * (the end of a receive it replaced). A switch cancels the receive in
   * flight and starts the other kind under the same token once its last
   * completion is in, so bytes are never received by two operations at once.
   */
  #receiveStep(token: number, operation: Operation, result: number, flags: number): number | null {
    const more = (flags & IORING_CQE_F_MORE) !== 0;
    switch (operation.mode) {
      case Mode.Multishot:
        if (!more) return result;
        if (result < BULK_READ) {
          operation.streak = 0;
        } else if (++operation.streak >= BULK_STREAK && !operation.cancelRequested) {
          operation.mode = Mode.ToReadiness;
          operation.streak = 0;
          callNative(() => this.#ring.cancel(token));
        }
        return result;
      case Mode.ToReadiness:
      case Mode.ToMultishot: {
        if (more || result !== -ECANCELED || operation.cancelRequested) return result;
        const readiness = operation.mode === Mode.ToReadiness;
        try {
          if (readiness) this.#ring.recvReadiness(token, operation.fd);
          else this.#ring.recvMultishot(token, operation.fd);
        } catch (error) {
          const errno = (toOSError(error) as { errno?: unknown }).errno;
          return -(typeof errno === 'number' && errno > 0 ? errno : EIO);
        }
        operation.mode = readiness ? Mode.Readiness : Mode.Multishot;
        if (readiness) this.#receiveSwitches.toReadiness++;
        else this.#receiveSwitches.toMultishot++;
        return null;
      }
      case Mode.Readiness:
        if ((flags & READINESS_DETACHED) !== 0) {
          // The end is reported now; the operation stays until its poll's cancel completes.
          operation.mode = Mode.Ended;
          return result;
        }
        if ((flags & READINESS_REARM) !== 0) {
          try {
            this.#ring.recvReadiness(token, operation.fd);
          } catch (error) {
            const errno = (toOSError(error) as { errno?: unknown }).errno;
            return -(typeof errno === 'number' && errno > 0 ? errno : EIO);
          }
          if (result === 0) return null;
        }
        if (!more || result <= 0) return result;
        if (result >= SMALL_READ) {
          operation.streak = 0;
        } else if (++operation.streak >= SMALL_STREAK && !operation.cancelRequested) {
          operation.mode = Mode.ToMultishot;
          operation.streak = 0;
          callNative(() => this.#ring.cancel(token));
        }
        return result;
      default:
        // Ended: the last completion of a poll whose receive already ended.
        if (!more) this.#operations.delete(token);
        return null;
    }
  }

  /**
   * A sendfile's POLLOUT poll completed: the next sendfile(2), or the poll
   * again (null) when the socket is still full. A cancelled poll, or one
   * cancelled while its completion was on the way, sent nothing: -ECANCELED.
   */
  #sendfileAfterPoll(token: number, operation: Operation, revents: number): number | null {
    if (revents < 0) return revents;
    if (operation.cancelRequested) return -ECANCELED;
    const state = operation.sendfile!;
    let sent: number;
    try {
      sent = this.#ring.sendfile(operation.fd, operation.extra, state.offset, state.count, state.identity);
    } catch (error) {
      const errno = (toOSError(error) as { errno?: unknown }).errno;
      return -(typeof errno === 'number' && errno > 0 ? errno : EIO);
    }
    if (sent !== -EAGAIN) return sent;
    // Still full after an error or hang-up: the socket will not take more.
    if ((revents & (POLLERR | POLLHUP)) !== 0) return -EPIPE;
    try {
      this.#ring.pollAdd(token, operation.fd, POLLOUT);
    } catch (error) {
      const errno = (toOSError(error) as { errno?: unknown }).errno;
      return -(typeof errno === 'number' && errno > 0 ? errno : EIO);
    }
    this.#operations.set(token, operation);
    return null;
  }

  /**
   * Turns a sendfile's finished read into its send; null when it did, else
   * the sendfile's final result. A read whose send never started sent
   * nothing: its bytes are not the result (the cancel's ECANCELED, or why
   * the send could not be queued, is).
   */
  #continueSendfile(token: number, operation: Operation, result: number): number | null {
    if (result <= 0) return result;
    if (operation.cancelRequested) return -ECANCELED;
    const sockFd = operation.extra;
    const buffer = operation.buffer!;
    try {
      this.#ring.send(token, sockFd, buffer, 0, result, MSG_NOSIGNAL);
    } catch (error) {
      const errno = (toOSError(error) as { errno?: unknown }).errno;
      return -(typeof errno === 'number' && errno > 0 ? errno : EIO);
    }
    operation.kind = Kind.SendfileSend;
    operation.fd = sockFd;
    this.#operations.set(token, operation);
    return null;
  }

  /** Scratch buffers of the last poll's completions can be reused once their values can no longer be asked for. */
  #releaseHarvested(): void {
    const harvested = this.#harvested;
    for (let i = 0; i < this.#harvestedCount; i++) {
      const operation = harvested[i]!;
      if (operation.scratch !== null) this.#spareScratch.push(operation.scratch);
      harvested[i] = undefined;
      this.#values[i] = undefined;
    }
    this.#harvestedCount = 0;
    // The views at the slab's end that were given back: their room is free.
    let kept = this.#copiedCount;
    if (kept === 0) return;
    const copied = this.#copied;
    while (kept > 0 && copied[kept - 1] === undefined) kept--;
    if (kept < this.#copiedCount) this.#slabUsed = this.#copiedAt[kept]!;
    this.#forgetCopied();
  }

  #forgetCopied(): void {
    const copied = this.#copied;
    for (let i = 0; i < this.#copiedCount; i++) copied[i] = undefined;
    this.#copiedCount = 0;
  }

  #scratch(): Uint8Array {
    return this.#spareScratch.pop() ?? Buffer.allocUnsafeSlow(this.#native.scratchSize);
  }

  #encodeAddress(fd: number, scratch: Uint8Array, address: ProactorAddress): number {
    const native = this.#native;
    try {
      if (typeof address === 'string') {
        return native.encodeAddress(scratch, AF_UNIX, Buffer.from(address, 'utf8'), 0, 0, 0);
      }
      if (!Array.isArray(address) || address.length < 2 || address.length > 4) {
        throw new TypeError(`address must be [host, port], [host, port, flowinfo, scopeId] or a path, got ${describe(address)}`);
      }
      const [host, port, flowinfo = 0, scopeId = 0] = address as unknown[];
      if (typeof host !== 'string') throw new TypeError(`address host must be a string, got ${describe(host)}`);
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
        throw new RangeError(`address port must be an integer in [0, 65535], got ${String(port)}`);
      }
      if (typeof flowinfo !== 'number' || typeof scopeId !== 'number') throw new TypeError('address flowinfo and scopeId must be numbers');
      let family: number;
      if (address.length > 2 || host.includes(':')) family = AF_INET6;
      else if (host === '') family = callNative(() => native.socketFamily(fd));
      else family = AF_INET;
      try {
        return native.encodeAddress(scratch, family, host, port, flowinfo, scopeId);
      } catch (error) {
        const typed = toOSError(error) as { errno?: number };
        if (typed.errno === EINVAL) throw new RangeError(`address host must be a numeric IPv${family === AF_INET6 ? 6 : 4} address, got '${host}'`);
        throw typed;
      }
    } catch (error) {
      this.#spareScratch.push(scratch);
      throw toOSError(error);
    }
  }

  #decodeAddress(scratch: Uint8Array, fromMessage: boolean): ProactorAddress | null {
    const address = this.#native.decodeAddress(scratch, fromMessage);
    if (Buffer.isBuffer(address)) return address.toString('utf8');
    return address;
  }
}

/** The selector events a poll's revents mean: an error or hang-up wakes reader and writer, as selectors do. */
function pollEvents(revents: number, wanted: number): number {
  let events = 0;
  if ((revents & (POLLIN | POLLRDHUP | POLLERR | POLLHUP)) !== 0) events |= READ;
  // Only a priority poll (an epoll instance's EPOLLPRI) reports urgent data
  // apart; a plain poll asks POLLPRI for readers, as the selectors do.
  if ((revents & POLLPRI) !== 0) events |= (wanted & EVENT_PRIORITY) !== 0 ? EVENT_PRIORITY : READ;
  if ((revents & (POLLOUT | POLLERR | POLLHUP)) !== 0) events |= WRITE;
  events &= wanted;
  return events === 0 ? wanted : events;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

function callNative<R>(fn: () => R): R {
  try {
    return fn();
  } catch (error) {
    throw toOSError(error);
  }
}

