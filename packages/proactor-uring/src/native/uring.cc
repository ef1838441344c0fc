// io_uring through raw syscalls: ring setup and teardown, the submission
// and completion queues, cancellation and the eventfd for the idle wait.
#ifdef __linux__  // io_uring is Linux-only; elsewhere the addon only says so
#include "uring.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstddef>
#include <cstring>
#include <ctime>

namespace evloop {
namespace {

int SysSetup(unsigned entries, io_uring_params* params) {
  return static_cast<int>(syscall(__NR_io_uring_setup, entries, params));
}

int SysEnter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags, const void* arg, size_t arg_size) {
  return static_cast<int>(syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, arg, arg_size));
}

int SysRegister(int fd, unsigned opcode, const void* arg, unsigned nr_args) {
  return static_cast<int>(syscall(__NR_io_uring_register, fd, opcode, arg, nr_args));
}

// Linux 5.11's io_uring_getevents_arg, spelled out for older headers.
struct GeteventsArg {
  uint64_t sigmask;
  uint32_t sigmask_sz;
  uint32_t pad;
  uint64_t ts;
};

struct KernelTimespec {
  int64_t tv_sec;
  long long tv_nsec;
};

}  // namespace

Ring::~Ring() { Close(); }

int Ring::Setup(unsigned entries, unsigned flags, io_uring_params* params) {
  std::memset(params, 0, sizeof(*params));
  params->flags = flags | IORING_SETUP_CQSIZE;
  params->cq_entries = entries * 4;
  const int fd = SysSetup(entries, params);
  return fd < 0 ? -errno : fd;
}

int Ring::Open(unsigned entries, bool prefer_defer_taskrun) {
  if (ring_fd_ >= 0) return -EBUSY;
  last_syscall_ = "io_uring_setup";
  // Flag sets from the most to the least wanted; EINVAL means "unknown flag"
  // on an older kernel, so the next set is tried.
  // TASKRUN_FLAG came with COOP_TASKRUN (5.19): the kernel then sets
  // IORING_SQ_TASKRUN when completion work waits, so a poll with nothing to
  // submit and no flag skips io_uring_enter.
  const unsigned coop = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL;
  const unsigned attempts[] = {
      coop | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
      coop,
      IORING_SETUP_SUBMIT_ALL,
      0,
  };
  io_uring_params params;
  int fd = -EINVAL;
  unsigned granted = 0;
  for (unsigned flags : attempts) {
    if (!prefer_defer_taskrun && (flags & IORING_SETUP_DEFER_TASKRUN) != 0) continue;
    fd = Setup(entries, flags, &params);
    if (fd >= 0) {
      granted = flags;
      break;
    }
    if (fd != -EINVAL) return fd;
  }
  if (fd < 0) return fd;
  ring_fd_ = fd;
  features_.defer_taskrun = (granted & IORING_SETUP_DEFER_TASKRUN) != 0;
  features_.coop_taskrun = (granted & IORING_SETUP_COOP_TASKRUN) != 0;
  features_.taskrun_flag = (granted & IORING_SETUP_TASKRUN_FLAG) != 0;
  features_.submit_all = (granted & IORING_SETUP_SUBMIT_ALL) != 0;
  features_.ext_arg = (params.features & IORING_FEAT_EXT_ARG) != 0;
  features_.nodrop = (params.features & IORING_FEAT_NODROP) != 0;
  features_.sq_entries = params.sq_entries;
  features_.cq_entries = params.cq_entries;
  const int mapped = MapRings(params);
  if (mapped < 0) {
    Close();
    return mapped;
  }
  return 0;
}

int Ring::MapRings(const io_uring_params& params) {
  last_syscall_ = "mmap";
  sq_ring_size_ = params.sq_off.array + params.sq_entries * sizeof(unsigned);
  cq_ring_size_ = params.cq_off.cqes + params.cq_entries * sizeof(io_uring_cqe);
  const bool single = (params.features & IORING_FEAT_SINGLE_MMAP) != 0;
  if (single) sq_ring_size_ = cq_ring_size_ = std::max(sq_ring_size_, cq_ring_size_);
  void* sq = mmap(nullptr, sq_ring_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_fd_, IORING_OFF_SQ_RING);
  if (sq == MAP_FAILED) return -errno;
  sq_ring_ = sq;
  if (single) {
    cq_ring_ = sq;
  } else {
    void* cq = mmap(nullptr, cq_ring_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_fd_, IORING_OFF_CQ_RING);
    if (cq == MAP_FAILED) return -errno;
    cq_ring_ = cq;
  }
  sqes_size_ = params.sq_entries * sizeof(io_uring_sqe);
  void* sqes = mmap(nullptr, sqes_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_fd_, IORING_OFF_SQES);
  if (sqes == MAP_FAILED) return -errno;
  sqes_ = static_cast<io_uring_sqe*>(sqes);

  auto* sq_base = static_cast<char*>(sq_ring_);
  sq_head_ = reinterpret_cast<unsigned*>(sq_base + params.sq_off.head);
  sq_tail_ = reinterpret_cast<unsigned*>(sq_base + params.sq_off.tail);
  sq_flags_ = reinterpret_cast<unsigned*>(sq_base + params.sq_off.flags);
  sq_array_ = reinterpret_cast<unsigned*>(sq_base + params.sq_off.array);
  sq_mask_ = *reinterpret_cast<unsigned*>(sq_base + params.sq_off.ring_mask);
  sqe_tail_ = *sq_tail_;

  auto* cq_base = static_cast<char*>(cq_ring_);
  cq_head_ = reinterpret_cast<unsigned*>(cq_base + params.cq_off.head);
  cq_tail_ = reinterpret_cast<unsigned*>(cq_base + params.cq_off.tail);
  cq_mask_ = *reinterpret_cast<unsigned*>(cq_base + params.cq_off.ring_mask);
  // cq_off.flags is 0 from kernels that have no CQ flags (before 5.8).
  if (params.cq_off.flags != 0) cq_flags_ = reinterpret_cast<unsigned*>(cq_base + params.cq_off.flags);
  cqes_ = reinterpret_cast<io_uring_cqe*>(cq_base + params.cq_off.cqes);
  return 0;
}

int Ring::RegisterEventFd() {
  if (ring_fd_ < 0) return -EBADF;
  last_syscall_ = "eventfd";
  const int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) return -errno;
  last_syscall_ = "io_uring_register";
  if (SysRegister(ring_fd_, IORING_REGISTER_EVENTFD, &efd, 1) < 0) {
    const int error = errno;
    close(efd);
    return -error;
  }
  event_fd_ = efd;
  return 0;
}

namespace {
constexpr uint64_t kWakeProbe = kInternalTag | 1;
}  // namespace

int DeferredEventFdAtOnce() {
  // -2 not measured yet; the kernel's behaviour does not change while the
  // process runs, so every ring goes by the first answer.
  static std::atomic<int> answer{-2};
  int known = answer.load(std::memory_order_relaxed);
  if (known != -2) return known;
  Ring ring;
  if (ring.Open(8, true) != 0 || !ring.features().defer_taskrun || ring.RegisterEventFd() != 0) {
    known = -1;
  } else {
    known = ring.EventFdSignalsAtOnce() ? 1 : 0;
  }
  answer.store(known, std::memory_order_relaxed);
  return known;
}

int Ring::OpenWithEventFd(unsigned entries, bool prefer_defer_taskrun, bool waits_in_ring) {
  const bool declined = prefer_defer_taskrun && !waits_in_ring && DeferredEventFdAtOnce() == 0;
  int result = Open(entries, prefer_defer_taskrun && !declined);
  if (result == 0) result = RegisterEventFd();
  features_.defer_taskrun_declined = declined;
  return result;
}

bool Ring::EventFdSignalsAtOnce() {
  int pair[2];
  // Nothing to measure with: keep the ring as it is.
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) < 0) return true;
  bool at_once = true;
  int error = 0;
  io_uring_sqe* sqe = NextSqe(kWakeProbe, &error);
  if (sqe != nullptr) {
    sqe->opcode = IORING_OP_POLL_ADD;
    sqe->fd = pair[0];
    sqe->poll32_events = POLLIN;
    if (Flush() >= 0) {
      DrainEventFd();
      const char byte = 0;
      if (write(pair[1], &byte, 1) == 1) {
        pollfd eventfd_poll{event_fd_, POLLIN, 0};
        at_once = poll(&eventfd_poll, 1, 0) == 1;
        // Run the poll's completion work; Harvest drops internal completions.
        Enter(100);
        int32_t none[3];
        Harvest(none, 1);
      } else {
        Cancel(kWakeProbe);
        Flush();
      }
      DrainEventFd();
    }
  }
  close(pair[0]);
  close(pair[1]);
  return at_once;
}

int Ring::Probe() {
  if (ring_fd_ < 0) return -EBADF;
  last_syscall_ = "io_uring_register";
  const size_t size = sizeof(io_uring_probe) + 256 * sizeof(io_uring_probe_op);
  auto* probe = static_cast<io_uring_probe*>(std::calloc(1, size));
  if (probe == nullptr) return -ENOMEM;
  if (SysRegister(ring_fd_, IORING_REGISTER_PROBE, probe, 256) < 0) {
    const int error = errno;
    std::free(probe);
    return -error;
  }
  for (unsigned i = 0; i < probe->ops_len && i < 256; i++) {
    if ((probe->ops[i].flags & IO_URING_OP_SUPPORTED) != 0) supported_[probe->ops[i].op] = 1;
  }
  std::free(probe);
  return 0;
}

bool Ring::Supports(unsigned opcode) const { return opcode < 256 && supported_[opcode] != 0; }

io_uring_sqe* Ring::NextSqe(uint64_t user_data, int* error) {
  if (ring_fd_ < 0) {
    *error = -EBADF;
    return nullptr;
  }
  if (sqe_tail_ - Acquire(sq_head_) >= features_.sq_entries) {
    // Full: hand the queued entries to the kernel first.
    const int result = Flush();
    if (result < 0) {
      *error = result;
      return nullptr;
    }
    if (sqe_tail_ - Acquire(sq_head_) >= features_.sq_entries) {
      *error = -EBUSY;
      return nullptr;
    }
  }
  if (on_first_queued_ != nullptr && sqe_tail_ == Acquire(sq_head_)) on_first_queued_(on_first_queued_data_);
  const unsigned index = sqe_tail_ & sq_mask_;
  io_uring_sqe* sqe = &sqes_[index];
  std::memset(sqe, 0, sizeof(*sqe));
  sqe->user_data = user_data;
  sq_array_[index] = index;
  sqe_tail_++;
  return sqe;
}

int Ring::SetupBufferRing(unsigned count, unsigned size) {
  if (ring_fd_ < 0) return -EBADF;
  if (buffer_ring_ != nullptr) return -EBUSY;
  if (count == 0 || (count & (count - 1)) != 0 || count > 32768 || size == 0) return -EINVAL;
  last_syscall_ = "mmap";
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  buffer_ring_size_ = (count * sizeof(io_uring_buf) + page - 1) / page * page;
  void* ring = mmap(nullptr, buffer_ring_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (ring == MAP_FAILED) return -errno;
  buffer_memory_size_ = static_cast<size_t>(count) * size;
  void* memory = mmap(nullptr, buffer_memory_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    const int error = errno;
    munmap(ring, buffer_ring_size_);
    return -error;
  }
  // Linux 5.19's io_uring_buf_reg, spelled out as the header has it.
  io_uring_buf_reg registration;
  std::memset(&registration, 0, sizeof(registration));
  registration.ring_addr = reinterpret_cast<uint64_t>(ring);
  registration.ring_entries = count;
  registration.bgid = 0;
  last_syscall_ = "io_uring_register";
  if (SysRegister(ring_fd_, IORING_REGISTER_PBUF_RING, &registration, 1) < 0) {
    const int error = errno;
    munmap(memory, buffer_memory_size_);
    munmap(ring, buffer_ring_size_);
    return -error;
  }
  buffer_ring_ = static_cast<io_uring_buf_ring*>(ring);
  buffer_memory_ = static_cast<uint8_t*>(memory);
  buffer_count_ = count;
  buffer_size_ = size;
  buffer_tail_ = 0;
  for (unsigned bid = 0; bid < count; bid++) RecycleBuffer(bid);
  return 0;
}

void Ring::RecycleBuffer(unsigned bid) {
  if (buffer_ring_ == nullptr || bid >= buffer_count_) return;
  // The ring is an array of 16-byte io_uring_buf entries whose first entry's
  // last two bytes are the tail. Addressed by hand: the header declares the
  // entries as a flexible array that C++ lays out 8 bytes further on.
  static_assert(sizeof(io_uring_buf) == 16, "io_uring_buf is 16 bytes");
  auto* entries = reinterpret_cast<io_uring_buf*>(buffer_ring_);
  io_uring_buf& entry = entries[buffer_tail_ & (buffer_count_ - 1)];
  entry.addr = reinterpret_cast<uint64_t>(buffer_memory_ + static_cast<size_t>(bid) * buffer_size_);
  entry.len = buffer_size_;
  entry.bid = static_cast<uint16_t>(bid);
  buffer_tail_++;
  auto* tail = reinterpret_cast<uint16_t*>(reinterpret_cast<char*>(buffer_ring_) + offsetof(io_uring_buf, resv));
  __atomic_store_n(tail, buffer_tail_, __ATOMIC_RELEASE);
}

int Ring::Cancel(uint64_t user_data) {
  int error = 0;
  io_uring_sqe* sqe = NextSqe(kInternalTag | (user_data & 0xffffffffu), &error);
  if (sqe == nullptr) return error;
  sqe->opcode = IORING_OP_ASYNC_CANCEL;
  sqe->fd = -1;
  sqe->addr = user_data;
  return 0;
}

int Ring::PollReceive(uint32_t token, int fd) {
  int error = 0;
  io_uring_sqe* sqe = NextSqe(kReadinessTag | token, &error);
  if (sqe == nullptr) return error;
  sqe->opcode = IORING_OP_POLL_ADD;
  sqe->fd = fd;
  // POLLRDHUP says whether the peer's FIN was there when the poll looked,
  // so a short read is known to have drained the socket without another
  // recv(2) to see EAGAIN.
  sqe->poll32_events = POLLIN | POLLRDHUP;
  sqe->len = IORING_POLL_ADD_MULTI;
  readiness_[token] = fd;
  return 0;
}

int Ring::CancelToken(uint32_t token) {
  const auto it = readiness_.find(token);
  if (it == readiness_.end()) return Cancel(token);
  readiness_.erase(it);
  return Cancel(kReadinessTag | token);
}

namespace {
// Below this much room left in the slab a readiness receive waits for a
// fresh one (SLAB_MIN_FREE in uring-proactor.ts), unless nothing was put in
// the slab yet in this harvest (then it reads into what there is).
constexpr size_t kMinReadinessRoom = 16 * 1024;
// Each recv(2) of a readiness receive takes at most this much, reported as
// a completion of its own: bigger chunks made the echo's writes bigger,
// and those cost far more CPU per MB on this proactor (see docs/backends.md).
constexpr size_t kMaxReadinessRead = 32 * 1024;
}  // namespace

bool Ring::HarvestReadiness(const io_uring_cqe& cqe, int32_t* out, unsigned capacity, unsigned* count, HarvestSlab* slab, bool* consumed) {
  const uint32_t token = static_cast<uint32_t>(cqe.user_data & 0xffffffffu);
  const bool more = (cqe.flags & IORING_CQE_F_MORE) != 0;
  auto emit = [&](int32_t result, int32_t flags) {
    out[3 * *count] = static_cast<int32_t>(token & 0x7fffffffu);
    out[3 * *count + 1] = result;
    out[3 * *count + 2] = flags;
    ++*count;
  };
  *consumed = true;
  const auto it = readiness_.find(token);
  if (it == readiness_.end() || cqe.res < 0) {
    // Cancelled or ended here (nothing is read for it any more), or the
    // poll failed: only its last completion is reported.
    if (more) return true;
    if (it != readiness_.end()) {
      readiness_.erase(it);
      emit(cqe.res, 0);
    } else {
      emit(cqe.res < 0 ? cqe.res : -ECANCELED, 0);
    }
    return true;
  }
  const int fd = it->second;
  const bool hung_up = (static_cast<unsigned>(cqe.res) & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
  int32_t end = 1;  // 1: goes on; 0: EOF; negative: -errno
  bool stopped = slab == nullptr;
  while (!stopped) {
    const size_t room = slab->size - slab->used;
    if (room == 0 || (room < kMinReadinessRoom && slab->used > 0)) {
      // More may be waiting: this completion is looked at again with a fresh slab.
      slab->full = true;
      stopped = true;
      break;
    }
    // Room for these bytes and an end after them.
    if (*count + 2 > capacity) {
      stopped = true;
      break;
    }
    const size_t want = room < kMaxReadinessRead ? room : kMaxReadinessRead;
    const ssize_t got = recv(fd, slab->data + slab->used, want, MSG_DONTWAIT);
    if (got > 0) {
      slab->used += static_cast<size_t>(got);
      emit(static_cast<int32_t>(got), IORING_CQE_F_BUFFER | IORING_CQE_F_MORE);
      // A short read drained the socket, unless the peer's end (or an
      // error) was seen too: then read on until recv(2) reports it.
      if (static_cast<size_t>(got) < want && !hung_up) break;
      continue;
    }
    if (got == 0) {
      end = 0;
      break;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) end = -errno;
    break;
  }
  if (stopped) {
    // The rest is read when Harvest comes back to this completion.
    *consumed = false;
    return false;
  }
  if (end <= 0) {
    readiness_.erase(it);
    if (more) {
      // The poll is still armed: cancel it (its last completion is then
      // reported as -ECANCELED); the end is reported now.
      Cancel(kReadinessTag | token);
      emit(end, kReadinessDetached);
    } else {
      emit(end, 0);
    }
  } else if (!more) {
    // The kernel ended the poll (the socket is still open): start it again.
    readiness_.erase(it);
    emit(0, IORING_CQE_F_MORE | kReadinessRearm);
  }
  return true;
}

int Ring::Enter(int wait_ms) {
  if (ring_fd_ < 0) return -EBADF;
  last_syscall_ = "io_uring_enter";
  Release(sq_tail_, sqe_tail_);
  KernelTimespec ts{};
  GeteventsArg arg{};
  struct timespec deadline {};
  if (wait_ms > 0) {
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += wait_ms / 1000;
    deadline.tv_nsec += static_cast<long>(wait_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
      deadline.tv_sec++;
      deadline.tv_nsec -= 1000000000L;
    }
  }
  for (;;) {
    const unsigned to_submit = sqe_tail_ - Acquire(sq_head_);
    unsigned flags = 0;
    unsigned min_complete = 0;
    const void* extra = nullptr;
    size_t extra_size = 0;
    // Completions are ready once queued task work has run: a DEFER_TASKRUN
    // ring runs it only inside GETEVENTS, a COOP one on the next entry. With
    // TASKRUN_FLAG the kernel says when there is such work; without it a
    // DEFER_TASKRUN ring must always enter.
    const bool task_work = TaskWorkPending();
    if (wait_ms != 0 && !HasCompletions()) {
      flags |= IORING_ENTER_GETEVENTS;
      min_complete = 1;
      if (wait_ms > 0) {
        struct timespec now {};
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t left_ns = (deadline.tv_sec - now.tv_sec) * 1000000000LL + (deadline.tv_nsec - now.tv_nsec);
        if (left_ns <= 0) {
          min_complete = 0;
          left_ns = 0;
        }
        if (features_.ext_arg) {
          ts.tv_sec = left_ns / 1000000000LL;
          ts.tv_nsec = left_ns % 1000000000LL;
          arg.sigmask = 0;
          arg.sigmask_sz = _NSIG / 8;
          arg.ts = reinterpret_cast<uint64_t>(&ts);
          flags |= IORING_ENTER_EXT_ARG;
          extra = &arg;
          extra_size = sizeof(arg);
        } else if (min_complete == 1) {
          // Kernels before 5.11 cannot bound the wait in io_uring_enter:
          // submit, then wait on the ring fd itself for the time left.
          if (to_submit > 0 && SysEnter(ring_fd_, to_submit, 0, 0, nullptr, 0) < 0 && errno != EINTR && errno != EAGAIN && errno != EBUSY) {
            return -errno;
          }
          struct pollfd ready = {ring_fd_, POLLIN, 0};
          poll(&ready, 1, static_cast<int>((left_ns + 999999) / 1000000));
          min_complete = 0;
          flags = IORING_ENTER_GETEVENTS;
        }
      }
    } else if (task_work) {
      flags |= IORING_ENTER_GETEVENTS;
    }
    if (to_submit == 0 && flags == 0) return 0;
    const int result = SysEnter(ring_fd_, to_submit, min_complete, flags, extra, extra_size);
    if (result >= 0) return 0;
    const int error = errno;
    if (error == ETIME) return 0;
    // The deadline is absolute: a retry after a signal waits only what is left.
    if (error == EINTR) continue;
    if (error == EAGAIN || error == EBUSY) {
      // The completion queue is full (or memory is short): the caller
      // harvests, and the next Enter submits the rest.
      return 0;
    }
    return -error;
  }
}

bool Ring::HasCompletions() const {
  if (ring_fd_ < 0) return false;
  return Acquire(cq_tail_) != *cq_head_ || (Acquire(sq_flags_) & IORING_SQ_CQ_OVERFLOW) != 0;
}

unsigned Ring::Harvest(int32_t* out, unsigned capacity, HarvestSlab* slab) {
  if (ring_fd_ < 0) return 0;
  harvested_ = true;
  unsigned count = 0;
  for (int round = 0; round < 2 && count < capacity; round++) {
    unsigned head = *cq_head_;
    const unsigned tail = Acquire(cq_tail_);
    while (head != tail && count < capacity) {
      const io_uring_cqe& cqe = cqes_[head & cq_mask_];
      if ((cqe.user_data & kInternalTag) != 0) {
        ConsumeInternal(cqe);
        head++;
        continue;
      }
      if ((cqe.user_data & kReadinessTag) != 0) {
        bool consumed = true;
        const bool go_on = HarvestReadiness(cqe, out, capacity, &count, slab, &consumed);
        if (consumed) head++;
        if (!go_on) break;
        continue;
      }
      if (slab != nullptr && (cqe.flags & IORING_CQE_F_BUFFER) != 0) {
        const unsigned bid = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
        const size_t length = cqe.res > 0 ? static_cast<size_t>(cqe.res) : 0;
        if (length > slab->size - slab->used) {
          slab->full = true;
          break;
        }
        if (length > 0 && bid < buffer_count_) {
          std::memcpy(slab->data + slab->used, buffer_memory_ + static_cast<size_t>(bid) * buffer_size_, length);
          slab->used += length;
        }
        RecycleBuffer(bid);
      }
      head++;
      out[3 * count] = static_cast<int32_t>(cqe.user_data & 0x7fffffffu);
      out[3 * count + 1] = cqe.res;
      out[3 * count + 2] = static_cast<int32_t>(cqe.flags);
      count++;
    }
    Release(cq_head_, head);
    if (slab != nullptr && slab->full) break;
    // Completions the CQ had no room for wait in the kernel's overflow list:
    // one GETEVENTS moves them into the ring.
    if (count < capacity && (Acquire(sq_flags_) & IORING_SQ_CQ_OVERFLOW) != 0) {
      SysEnter(ring_fd_, 0, 0, IORING_ENTER_GETEVENTS, nullptr, 0);
    } else {
      break;
    }
  }
  return count;
}

void Ring::ConsumeInternal(const io_uring_cqe& cqe) {
  if (cqe.user_data != kBackendPollTag) return;
  backend_poll_armed_ = false;
  backend_ready_ = true;
}

bool Ring::SkipInternal() {
  if (ring_fd_ < 0) return false;
  unsigned head = *cq_head_;
  const unsigned tail = Acquire(cq_tail_);
  while (head != tail) {
    const io_uring_cqe& cqe = cqes_[head & cq_mask_];
    if ((cqe.user_data & kInternalTag) == 0) break;
    ConsumeInternal(cqe);
    head++;
  }
  Release(cq_head_, head);
  return head != tail;
}

bool Ring::TaskWorkPending() const {
  if (ring_fd_ < 0) return false;
  if (features_.defer_taskrun && !features_.taskrun_flag) return true;
  return (Acquire(sq_flags_) & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW)) != 0;
}

int Ring::ArmBackendPoll(int fd) {
  if (backend_poll_armed_) return 0;
  int error = 0;
  io_uring_sqe* sqe = NextSqe(kBackendPollTag, &error);
  if (sqe == nullptr) return error;
  sqe->opcode = IORING_OP_POLL_ADD;
  sqe->fd = fd;
  sqe->poll32_events = POLLIN;
  backend_poll_armed_ = true;
  return 0;
}

bool Ring::SetEventFdEnabled(bool enabled) {
  if (cq_flags_ == nullptr) return false;
  const unsigned flags = __atomic_load_n(cq_flags_, __ATOMIC_RELAXED);
  const unsigned wanted = enabled ? flags & ~IORING_CQ_EVENTFD_DISABLED : flags | IORING_CQ_EVENTFD_DISABLED;
  if (wanted == flags) return false;
  __atomic_store_n(cq_flags_, wanted, __ATOMIC_RELEASE);
  return true;
}

void Ring::SignalEventFd() {
  if (event_fd_ < 0) return;
  const uint64_t one = 1;
  while (write(event_fd_, &one, sizeof(one)) < 0 && errno == EINTR) {
  }
}

void Ring::DrainEventFd() {
  if (event_fd_ < 0) return;
  uint64_t value;
  while (read(event_fd_, &value, sizeof(value)) < 0 && errno == EINTR) {
  }
}

void Ring::Close() {
  // The ring fd goes first: the kernel lets go of the buffer ring with it.
  if (event_fd_ >= 0) close(event_fd_);
  if (ring_fd_ >= 0) close(ring_fd_);
  event_fd_ = ring_fd_ = -1;
  readiness_.clear();
  cq_flags_ = nullptr;
  backend_poll_armed_ = backend_ready_ = false;
  // Buffers an operation may still be using (a close that could not wait
  // for every cancellation) stay mapped: the kernel must never write into
  // memory that was given back and reused.
  if (buffer_memory_ != nullptr && !keep_buffers_) munmap(buffer_memory_, buffer_memory_size_);
  if (buffer_ring_ != nullptr && !keep_buffers_) munmap(buffer_ring_, buffer_ring_size_);
  buffer_memory_ = nullptr;
  buffer_ring_ = nullptr;
  buffer_count_ = 0;
  if (sqes_ != nullptr) munmap(sqes_, sqes_size_);
  if (cq_ring_ != nullptr && cq_ring_ != sq_ring_) munmap(cq_ring_, cq_ring_size_);
  if (sq_ring_ != nullptr) munmap(sq_ring_, sq_ring_size_);
  sqes_ = nullptr;
  sq_ring_ = cq_ring_ = nullptr;
}

int ProbeUsable(const char** syscall) {
  Ring ring;
  int result = ring.Open(2, false);
  if (result < 0) {
    *syscall = ring.last_syscall();
    return result;
  }
  int error = 0;
  io_uring_sqe* sqe = ring.NextSqe(1, &error);
  if (sqe == nullptr) {
    *syscall = "io_uring_enter";
    return error;
  }
  sqe->opcode = IORING_OP_NOP;
  result = ring.Enter(1000);
  if (result < 0) {
    *syscall = ring.last_syscall();
    return result;
  }
  int32_t completion[3];
  if (ring.Harvest(completion, 1) != 1) {
    *syscall = "io_uring_enter";
    return -ETIME;
  }
  if (completion[1] < 0) {
    *syscall = "IORING_OP_NOP";
    return completion[1];
  }
  result = ring.Probe();
  if (result < 0) {
    *syscall = ring.last_syscall();
    return result;
  }
  return 0;
}

}  // namespace evloop

#endif  // __linux__
