// The io_uring ring behind the proactor, through raw syscalls and the
// kernel's own header: no liburing, no Node-API types. Every call returns 0
// (or a count) on success and -errno on failure, so the glue in addon.cc
// decides how an error reaches JavaScript.
#ifndef EVLOOP_PROACTOR_URING_URING_H_
#define EVLOOP_PROACTOR_URING_URING_H_

#include <linux/io_uring.h>

#include <cstddef>
#include <cstdint>
#include <unordered_map>

// Constants newer than the oldest header this builds against (Linux 5.6's).
#ifndef IORING_SETUP_CQSIZE
#define IORING_SETUP_CQSIZE (1U << 3)
#endif
#ifndef IORING_SETUP_SUBMIT_ALL
#define IORING_SETUP_SUBMIT_ALL (1U << 7)
#endif
#ifndef IORING_SETUP_COOP_TASKRUN
#define IORING_SETUP_COOP_TASKRUN (1U << 8)
#endif
#ifndef IORING_SETUP_TASKRUN_FLAG
#define IORING_SETUP_TASKRUN_FLAG (1U << 9)
#endif
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif
#ifndef IORING_FEAT_SINGLE_MMAP
#define IORING_FEAT_SINGLE_MMAP (1U << 0)
#endif
#ifndef IORING_FEAT_NODROP
#define IORING_FEAT_NODROP (1U << 1)
#endif
#ifndef IORING_FEAT_EXT_ARG
#define IORING_FEAT_EXT_ARG (1U << 8)
#endif
#ifndef IORING_ENTER_EXT_ARG
#define IORING_ENTER_EXT_ARG (1U << 3)
#endif
#ifndef IORING_SQ_CQ_OVERFLOW
#define IORING_SQ_CQ_OVERFLOW (1U << 1)
#endif
#ifndef IORING_SQ_TASKRUN
#define IORING_SQ_TASKRUN (1U << 2)
#endif
#ifndef IO_URING_OP_SUPPORTED
#define IO_URING_OP_SUPPORTED (1U << 0)
#endif
#ifndef IORING_CQE_F_MORE
#define IORING_CQE_F_MORE (1U << 1)
#endif
#ifndef IORING_ACCEPT_MULTISHOT
#define IORING_ACCEPT_MULTISHOT (1U << 0)
#endif
#ifndef IORING_RECV_MULTISHOT
#define IORING_RECV_MULTISHOT (1U << 1)
#endif
#ifndef IORING_CQE_F_BUFFER
#define IORING_CQE_F_BUFFER (1U << 0)
#endif
#ifndef IORING_CQE_BUFFER_SHIFT
#define IORING_CQE_BUFFER_SHIFT 16
#endif
#ifndef IORING_POLL_ADD_MULTI
#define IORING_POLL_ADD_MULTI (1U << 0)
#endif
#ifndef IORING_CQ_EVENTFD_DISABLED
#define IORING_CQ_EVENTFD_DISABLED (1U << 0)
#endif

namespace evloop {

// What setup asked for and what the kernel granted, for `features`.
struct RingFeatures {
  bool defer_taskrun = false;  // DEFER_TASKRUN + SINGLE_ISSUER (+ COOP_TASKRUN)
  bool coop_taskrun = false;
  bool taskrun_flag = false;   // the kernel flags pending completion work in the SQ ring (IORING_SQ_TASKRUN)
  bool submit_all = false;
  bool ext_arg = false;        // a wait with a timeout in one io_uring_enter
  bool nodrop = false;         // completions beyond the CQ are kept, never dropped
  unsigned sq_entries = 0;
  unsigned cq_entries = 0;
  // The kernel had DEFER_TASKRUN, but its eventfd signal for deferred work
  // came late (see OpenWithEventFd), so the ring was set up without it.
  bool defer_taskrun_declined = false;
};

// Internal submissions (cancel requests, probes) carry this bit in
// user_data; their completions are consumed here and never reported.
constexpr uint64_t kInternalTag = uint64_t{1} << 32;

// The one-shot poll of libuv's backend fd that a wait in the ring keeps
// armed (IdleWait in addon.cc): its completion says libuv has events.
constexpr uint64_t kBackendPollTag = kInternalTag | 2;

// A readiness receive's multishot poll carries this bit in user_data: its
// completions are turned by Harvest into recv(2)s straight into the slab.
constexpr uint64_t kReadinessTag = uint64_t{1} << 33;
// Flags Harvest sets on what it reports for a readiness receive, besides
// IORING_CQE_F_BUFFER (bytes in the slab) and IORING_CQE_F_MORE: the
// receive ended (EOF or an error) while its poll is still in the kernel (a
// cancel of it is queued; its last completion follows, reported as
// -ECANCELED), or the kernel ended the poll on its own and it must be armed
// again to go on.
constexpr int32_t kReadinessDetached = 1 << 30;
constexpr int32_t kReadinessRearm = 1 << 29;

// Where Harvest copies the bytes of provided-buffer completions: `size`
// bytes at `data`, filled from `used` on; `full` is set when a completion's
// bytes did not fit (Harvest then stops before it, leaving it in the ring).
struct HarvestSlab {
  uint8_t* data = nullptr;
  size_t size = 0;
  size_t used = 0;
  bool full = false;
};

class Ring {
 public:
  Ring() = default;
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // Sets up a ring of `entries` submissions (rounded up to a power of two by
  // the kernel) and a completion queue four times larger. With
  // `prefer_defer_taskrun`, tries DEFER_TASKRUN|SINGLE_ISSUER|COOP_TASKRUN
  // first, then COOP_TASKRUN, then plain setup, keeping the first the kernel
  // accepts. Never SQPOLL. Returns 0 or -errno.
  int Open(unsigned entries, bool prefer_defer_taskrun);
  // Creates an eventfd and registers it, so every posted completion makes
  // it readable (the guest loop's idle wait). Returns 0 or -errno.
  int RegisterEventFd();
  // Open and RegisterEventFd, for a loop whose idle wait is on the eventfd,
  // or mostly in the ring itself (`waits_in_ring`: the eventfd only wakes
  // libuv when it blocks without that wait). Where the wait is on the
  // eventfd, DEFER_TASKRUN is asked for only where the kernel signals such a
  // ring's eventfd at once for deferred work (DeferredEventFdAtOnce);
  // elsewhere features().defer_taskrun_declined is set. Returns 0 or -errno.
  int OpenWithEventFd(unsigned entries, bool prefer_defer_taskrun, bool waits_in_ring);
  // Whether the eventfd is readable right after a write made a poll's
  // completion work pending: a poll on a socketpair, a write to its peer,
  // a poll(2) of the eventfd with no timeout. Some kernels (6.18 here) signal
  // a DEFER_TASKRUN ring's eventfd from an RCU callback instead, a grace
  // period later (14-20 ms at HZ=250), and an idle loop waiting on it then
  // wakes that late for every message.
  bool EventFdSignalsAtOnce();
  // Asks the kernel which operations it supports (IORING_REGISTER_PROBE).
  // Returns 0 or -errno; without a probe every Supports() is false.
  int Probe();
  bool Supports(unsigned opcode) const;

  // The next free submission entry, zeroed, with user_data set; submits the
  // queued ones first when the queue is full. nullptr with *error set (-errno)
  // when even that fails.
  io_uring_sqe* NextSqe(uint64_t user_data, int* error);
  // Registers a provided-buffer ring (IORING_REGISTER_PBUF_RING, 5.19+) of
  // `count` buffers of `size` bytes each (count a power of two), group 0,
  // all handed to the kernel. Returns 0 or -errno (-EINVAL/-ENOSYS on an
  // older kernel, which then has no multishot receive).
  int SetupBufferRing(unsigned count, unsigned size);
  // Gives buffer `bid` back to the kernel (after its bytes were copied out).
  void RecycleBuffer(unsigned bid);
  uint8_t* buffers() const { return buffer_memory_; }
  unsigned buffer_count() const { return buffer_count_; }
  unsigned buffer_size() const { return buffer_size_; }
  // Close() leaves the provided buffers mapped (operations may still hold them).
  void KeepBuffersOnClose() { keep_buffers_ = true; }

  // `hook(data)` is called by NextSqe when it takes an entry while none is
  // queued: a wait that is not libuv's (no hook before it blocks) uses it to
  // hand the entries to the kernel before the runtime idles. None by default.
  void SetOnFirstQueued(void (*hook)(void* data), void* data) {
    on_first_queued_ = hook;
    on_first_queued_data_ = data;
  }

  // Queues an IORING_OP_ASYNC_CANCEL of the operation `user_data`.
  int Cancel(uint64_t user_data);
  // A readiness receive under `token`: a multishot POLLIN poll of `fd`
  // whose completions Harvest (with a slab) turns into recv(2)s into the
  // slab until the socket is drained. Returns 0 or -errno.
  int PollReceive(uint32_t token, int fd);
  // Cancels the operation `token`: its readiness receive if it has one (no
  // recv(2) is made for it from now on), else the operation itself.
  int CancelToken(uint32_t token);

  // One io_uring_enter: submits what is queued and, with `wait_ms` != 0,
  // waits for one completion (negative: forever; else at most wait_ms).
  // EINTR and an expired wait are not errors. Returns 0 or -errno.
  int Enter(int wait_ms);
  // Submits what is queued without waiting (the idle-wait flush).
  int Flush() { return Enter(0); }
  // Writes up to `capacity` (user_data, res, flags) triplets into `out`,
  // skipping internal completions. Returns how many it wrote. With `slab`,
  // the bytes of each completion in a provided buffer are copied into it, in
  // completion order, and the buffer goes back to the kernel at once.
  unsigned Harvest(int32_t* out, unsigned capacity, HarvestSlab* slab = nullptr);
  // Whether completions are waiting in the ring or the kernel's overflow list.
  bool HasCompletions() const;

  // Reads (and so resets) the eventfd.
  void DrainEventFd();

  // The loop's idle wait inside the ring instead of on the eventfd (IdleWait
  // in addon.cc): needs a switch for the eventfd (IORING_CQ_EVENTFD_DISABLED,
  // 5.8) and a bounded wait (EXT_ARG, 5.11).
  bool CanWaitInRing() const { return cq_flags_ != nullptr && features_.ext_arg && event_fd_ >= 0; }
  // Whether posted completions signal the eventfd (they do after setup).
  // Returns true when that changed.
  bool SetEventFdEnabled(bool enabled);
  // Makes the eventfd readable, as a posted completion would.
  void SignalEventFd();
  // Arms a one-shot POLLIN poll of `fd` (libuv's backend fd) unless one is
  // armed; it is queued, submitted by the next Enter. Returns 0 or -errno.
  int ArmBackendPoll(int fd);
  // Consumes the internal completions at the head of the CQ; true when a
  // completion to report follows them.
  bool SkipInternal();
  // Whether the backend poll completed since the last call.
  bool TakeBackendReady() {
    const bool ready = backend_ready_;
    backend_ready_ = false;
    return ready;
  }
  // Whether Harvest ran since the last call.
  bool TakeHarvested() {
    const bool harvested = harvested_;
    harvested_ = false;
    return harvested;
  }
  // Whether the kernel flags completion work (or overflowed completions)
  // that only an io_uring_enter posts. Always true on a DEFER_TASKRUN ring
  // without TASKRUN_FLAG, which cannot tell.
  bool TaskWorkPending() const;
  // Unmaps and closes the ring and the eventfd; safe to call twice.
  void Close();

  int fd() const { return ring_fd_; }
  int event_fd() const { return event_fd_; }
  unsigned queued() const { return sqe_tail_ - Acquire(sq_head_); }
  unsigned cq_tail() const { return ring_fd_ < 0 ? 0 : Acquire(cq_tail_); }
  const RingFeatures& features() const { return features_; }
  const char* last_syscall() const { return last_syscall_; }

 private:
  static unsigned Acquire(const unsigned* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
  static void Release(unsigned* p, unsigned v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
  int Setup(unsigned entries, unsigned flags, io_uring_params* params);
  int MapRings(const io_uring_params& params);

  int ring_fd_ = -1;
  int event_fd_ = -1;
  RingFeatures features_;
  const char* last_syscall_ = "";

  void* sq_ring_ = nullptr;
  size_t sq_ring_size_ = 0;
  void* cq_ring_ = nullptr;  // == sq_ring_ with a single mmap
  size_t cq_ring_size_ = 0;
  io_uring_sqe* sqes_ = nullptr;
  size_t sqes_size_ = 0;

  unsigned* sq_head_ = nullptr;
  unsigned* sq_tail_ = nullptr;
  unsigned* sq_flags_ = nullptr;
  unsigned* sq_array_ = nullptr;
  unsigned sq_mask_ = 0;
  unsigned sqe_tail_ = 0;  // ours: entries handed out, published to *sq_tail_ on Enter

  unsigned* cq_head_ = nullptr;
  unsigned* cq_tail_ = nullptr;
  unsigned* cq_flags_ = nullptr;  // nullptr before 5.8
  bool backend_poll_armed_ = false;
  bool backend_ready_ = false;
  bool harvested_ = false;
  void ConsumeInternal(const io_uring_cqe& cqe);
  unsigned cq_mask_ = 0;
  io_uring_cqe* cqes_ = nullptr;

  uint8_t supported_[256] = {};
  void (*on_first_queued_)(void*) = nullptr;
  void* on_first_queued_data_ = nullptr;

  // The provided-buffer ring: its entries (shared with the kernel) and the
  // memory the buffers point into.
  io_uring_buf_ring* buffer_ring_ = nullptr;
  size_t buffer_ring_size_ = 0;
  uint8_t* buffer_memory_ = nullptr;
  size_t buffer_memory_size_ = 0;
  unsigned buffer_count_ = 0;
  unsigned buffer_size_ = 0;
  uint16_t buffer_tail_ = 0;
  bool keep_buffers_ = false;

  // Readiness receives whose poll may still report: token -> fd. A token
  // leaves when it is cancelled or ends, so a late completion never makes a
  // recv(2) on an fd number that may have been reused.
  std::unordered_map<uint32_t, int> readiness_;
  // Harvest's part for a readiness completion; false when it must stop
  // before it (the completion stays in the ring).
  bool HarvestReadiness(const io_uring_cqe& cqe, int32_t* out, unsigned capacity, unsigned* count, HarvestSlab* slab, bool* consumed);
};

// Whether the kernel signals a DEFER_TASKRUN ring's eventfd at once when
// completion work is queued: 1 yes, 0 late, -1 no DEFER_TASKRUN here.
// Measured once per process (EventFdSignalsAtOnce on a ring of its own).
int DeferredEventFdAtOnce();

// Sets up a two-entry ring, submits a no-op and waits for its completion:
// what `available()` needs to know that io_uring really works here (a
// seccomp profile or kernel.io_uring_disabled fails one of these steps).
// Returns 0, or -errno with *syscall naming the step that failed.
int ProbeUsable(const char** syscall);

}  // namespace evloop

#endif  // EVLOOP_PROACTOR_URING_URING_H_
