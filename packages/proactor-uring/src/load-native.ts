import { addonLoader } from '@evloop/interface';

/** Feature flags the ring reports (what setup and `IORING_REGISTER_PROBE` granted). */
export interface RingFeatures {
  deferTaskrun: boolean;
  /**
   * The kernel has DEFER_TASKRUN, but it signalled the ring's eventfd late
   * when completion work was queued (from an RCU callback, a grace period
   * later: 14-20 ms on a 6.18 kernel), so the ring runs without it: its
   * idle loop waits on that eventfd (the helper-thread wait of Bun and
   * Deno) and would wake that late for every message. A ring in Node's
   * libuv loop waits in the ring itself and keeps DEFER_TASKRUN.
   */
  deferTaskrunDeclined: boolean;
  coopTaskrun: boolean;
  /** The kernel flags pending completion work, so a poll with nothing to submit and nothing flagged makes no syscall. */
  taskrunFlag: boolean;
  /**
   * The loop's idle wait is in the ring itself (one `io_uring_enter` that
   * submits and sleeps, with libuv's backend fd polled by the ring), not in
   * libuv on the ring's eventfd: Node (libuv) on Linux 5.11 or later. False
   * on the helper thread of Bun and Deno, which waits on the eventfd, and
   * with the option `idleWaitInRing: false`.
   */
  idleWaitInRing: boolean;
  submitAll: boolean;
  extArg: boolean;
  nodrop: boolean;
  sqEntries: number;
  cqEntries: number;
  multishotAccept: boolean;
  providedBufferRings: boolean;
  asyncCancel: boolean;
  sendZeroCopy: boolean;
}

/**
 * One io_uring instance. Every operation takes a positive int32 token (the
 * completion's user_data) and the fd; buffers are `(buffer, offset, length)`
 * spans the caller keeps alive until the completion is harvested. Errors are
 * thrown as `{ errno, syscall }`.
 */
export interface NativeRing {
  features(): RingFeatures;
  recv(token: number, fd: number, buffer: Uint8Array, offset: number, length: number, flags: number): void;
  send(token: number, fd: number, buffer: Uint8Array, offset: number, length: number, flags: number): void;
  read(token: number, fd: number, buffer: Uint8Array, offset: number, length: number, position: number): void;
  write(token: number, fd: number, buffer: Uint8Array, offset: number, length: number, position: number): void;
  recvmsg(token: number, fd: number, buffer: Uint8Array, offset: number, length: number, flags: number, scratch: Uint8Array, addressLength: number): void;
  sendmsg(token: number, fd: number, buffer: Uint8Array, offset: number, length: number, flags: number, scratch: Uint8Array, addressLength: number): void;
  accept(token: number, fd: number, scratch: Uint8Array): void;
  /** Multishot accept (Linux 5.19+): completes once per connection, IORING_CQE_F_MORE while it goes on. */
  acceptMultishot(token: number, fd: number): void;
  /** Multishot receive into the provided buffers (needs setupBuffers). */
  recvMultishot(token: number, fd: number): void;
  /**
   * A readiness receive (bulk streams): a multishot POLLIN poll whose
   * completions the harvest turns into recv(2)s straight into its slab,
   * reported as a multishot receive's (IORING_CQE_F_BUFFER with the byte
   * count). Flag 1 << 30 on an end (EOF, error) means the poll is still
   * being cancelled (its last completion, -ECANCELED, follows); 1 << 29
   * means the kernel ended the poll and it must be started again.
   */
  recvReadiness(token: number, fd: number): void;
  /** Registers the provided-buffer ring; returns the memory its buffers live in. */
  setupBuffers(count: number, size: number): ArrayBuffer;
  /** Gives buffer `bid` back to the kernel. */
  recycle(bid: number): void;
  /** close() then leaves the provided buffers mapped (operations may still hold them). */
  keepBuffers(): void;
  connect(token: number, fd: number, scratch: Uint8Array, addressLength: number): void;
  pollAdd(token: number, fd: number, pollMask: number): void;
  /**
   * A one-shot poll through an epoll instance of the fd's own (for EPOLLPRI,
   * which io_uring's poll misses on TCP sockets); returns the instance's fd,
   * for `takePriorityEvents` once the operation is over.
   */
  priorityPollAdd(token: number, fd: number, epollEvents: number): number;
  nop(token: number, fd: number): void;
  /**
   * A sendfile's first step: takes a submission entry, then makes one
   * sendfile(2) from `fileFd` at `offset` into `sockFd` at once (not through
   * the ring). Returns the bytes sent or -errno, and the entry is a no-op
   * under `token` that completes in the next poll; on -EAGAIN it is a POLLOUT
   * poll of the socket under `token`, and `identity` (a Float64Array of 2)
   * is filled with the socket's and the file's inode numbers. A blocking
   * socket gives SENDFILE_BLOCKING, a file sendfile(2) cannot read
   * SENDFILE_NOT_REGULAR: nothing sent and nothing started under `token`.
   */
  sendfileStart(token: number, sockFd: number, fileFd: number, offset: number, count: number, identity: Float64Array): number;
  /**
   * A sendfile's next step, after its poll: one sendfile(2), once both fds
   * still name the inodes in `identity` (else -EBADF, nothing sent).
   */
  sendfile(sockFd: number, fileFd: number, offset: number, count: number, identity: Float64Array): number;
  cancel(token: number): void;
  /** One io_uring_enter: submit, and wait up to `waitMs` (-1 forever, 0 not at all) for a completion. */
  submit(waitMs: number): void;
  /** Submits what is queued, if anything (else no syscall): the helper-thread wait's flush. */
  flush(): void;
  /** Submits what is queued, runs the kernel's deferred completion work, and says whether completions wait in the ring. */
  ready(): boolean;
  /**
   * Writes (token, result, flags) triplets into `out` from triplet `start`;
   * returns how many. With `slab`, the bytes of provided-buffer completions
   * are copied into `slab[offset, offset + length)` in completion order and
   * their buffers given back to the kernel; then -(count + 1) means the slab
   * ran out of room (the completion that did not fit stays in the ring).
   */
  harvest(out: Int32Array, start: number, slab?: Uint8Array, offset?: number, length?: number): number;
  /** drain() when `drain`, submit(waitMs), then harvest(out, start, ...): a whole poll in one call. */
  pollInto(waitMs: number, drain: boolean, out: Int32Array, start: number, slab?: Uint8Array, offset?: number, length?: number): number;
  /** onReady(true) comes from the wait in the ring (libuv hosts), onReady() from the eventfd. */
  watch(onReady: (inRing?: boolean) => void): void;
  unwatch(): void;
  /** Reads (resets) the eventfd the watch waits on; called before each poll that a wake-up starts. */
  drain(): void;
  close(): void;
  fileno(): number;
}

/**
 * What `proactor_uring.node` exports, or, when it was built where io_uring
 * does not exist, only why (evloop/platform.h).
 */
export type UringNativeModule = UringNative | { unsupportedReason: string; Ring?: undefined };

export interface UringNative {
  unsupportedReason?: undefined;
  /**
   * With `onQueued`, `watch()` waits on a helper thread instead of libuv
   * handles, and `onQueued()` is called when an operation is queued while
   * none was, so that JavaScript calls `flush()` before the runtime idles.
   */
  Ring: new (entries: number, preferDeferTaskrun: boolean, onQueued?: () => void, idleWaitInRing?: boolean) => NativeRing;
  /** Writes an address into a scratch buffer and returns its length. */
  encodeAddress(scratch: Uint8Array, family: number, host: string | Uint8Array, port: number, flowinfo: number, scopeId: number): number;
  /** The address an accept (false) or a recvmsg (true) left in a scratch buffer. */
  decodeAddress(scratch: Uint8Array, fromMessage: boolean): [string, number] | [string, number, number, number] | Buffer | null;
  /** The socket's family (SO_DOMAIN). */
  socketFamily(fd: number): number;
  /** null when a ring can be set up and runs a no-op, else `{ errno, syscall, message }`. */
  probeUsable(): { errno: number; syscall: string; message: string } | null;
  /**
   * Whether a ring's eventfd is readable right after a write queues a poll's
   * completion work. true: for a DEFER_TASKRUN ring, the answer every ring
   * goes by (measured once per process; false means `deferTaskrunDeclined`;
   * null without DEFER_TASKRUN on this kernel). false: measured now on a
   * fresh ring without it.
   */
  eventFdSignalsAtOnce(deferTaskrun: boolean): boolean | null;
  /** Whether a ring here can hold the idle wait itself (EXT_ARG and the eventfd switch: Linux 5.11+). */
  waitsInRing(): boolean;
  /** What a priorityPollAdd's epoll instance reports ready now (0 when nothing); closes it. */
  takePriorityEvents(instance: number): number;
  /**
   * Whether this thread's waits in the ring are added to libuv's idle time,
   * so that `performance.eventLoopUtilization()` counts them as idle: false
   * where libuv's count could not be verified, null until the first wait.
   */
  idleTimeCounted(): boolean | null;
  scratchSize: number;
}

const loadAddon = addonLoader<UringNativeModule>(import.meta.url);

/**
 * True in runtimes without the libuv handles the ring's default idle wait
 * uses (a `uv_poll_t` on its eventfd and a `uv_prepare_t` that submits
 * before the loop blocks): Bun (it aborts in the libuv functions it does not
 * implement) and Deno (it has no libuv). There the wait runs on a helper
 * thread, as epoll's does.
 */
export function runtimeNeedsHelperThread(): boolean {
  return typeof process.versions.bun === 'string' || (globalThis as { Deno?: unknown }).Deno !== undefined;
}

/** Loads the addon once; throws the load error (the same one on every call). */
export function loadNative(): UringNativeModule {
  return loadAddon();
}
