// POSIX only; on Windows addon.cc exports only unsupportedReason.
#include "evloop/platform.h"

#if defined(EVLOOP_HAS_POSIX)

#include "poll.h"

#include <chrono>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

namespace evloop {

namespace {

short ToPollEvents(int events) {
  short result = 0;
  if (events & kEventRead) result |= POLLIN;
  if (events & kEventWrite) result |= POLLOUT;
  if (events & kEventPriority) result |= POLLPRI;
  return result;
}

int RegisteredEvents(short poll_events) {
  return ((poll_events & POLLIN) ? kEventRead : 0) | ((poll_events & POLLOUT) ? kEventWrite : 0) |
         ((poll_events & POLLPRI) ? kEventPriority : 0);
}

// As CPython's PollSelector: anything but POLLIN counts as writable and
// anything but POLLOUT as readable (so POLLHUP/POLLERR wake both sides),
// masked by what was registered. POLLNVAL (the fd was closed) is never
// reported: a closed fd's callback must not fire.
int ReadyEvents(const pollfd& entry) {
  short revents = entry.revents;
  if (revents == 0 || (revents & POLLNVAL)) return 0;
  int events = 0;
  // POLLPRI (reported only when asked for) is urgent data: priority only;
  // an error or hang-up wakes a priority watcher too.
  if (revents & ~(POLLIN | POLLPRI)) events |= kEventWrite;
  if (revents & ~(POLLOUT | POLLPRI)) events |= kEventRead;
  if (revents & (POLLPRI | POLLERR | POLLHUP)) events |= kEventPriority;
  return events & RegisteredEvents(entry.events);
}

}  // namespace

Status PollSet::Add(int fd, int events) {
  if (index_.count(fd) != 0) return Status::Errno(EEXIST, "poll");
  // poll(2) takes any fd and reports a closed one only as POLLNVAL later;
  // fail at register time instead, as epoll_ctl would.
  if (fcntl(fd, F_GETFD) == -1) return Status::Errno(errno, "fcntl");
  index_.emplace(fd, fds_.size());
  fds_.push_back(pollfd{fd, ToPollEvents(events), 0});
  return Status{};
}

Status PollSet::Modify(int fd, int events) {
  auto found = index_.find(fd);
  if (found == index_.end()) return Status::Errno(ENOENT, "poll");
  fds_[found->second].events = ToPollEvents(events);
  return Status{};
}

Status PollSet::Remove(int fd) {
  auto found = index_.find(fd);
  if (found == index_.end()) return Status::Errno(ENOENT, "poll");
  size_t slot = found->second;
  index_.erase(found);
  if (slot != fds_.size() - 1) {
    fds_[slot] = fds_.back();
    index_[fds_[slot].fd] = slot;
  }
  fds_.pop_back();
  if (next_ >= fds_.size()) next_ = 0;
  return Status{};
}

void PollSet::Close() {
  fds_.clear();
  index_.clear();
  next_ = 0;
}

int PollSet::Wait(int32_t* out, size_t capacity, int timeout_ms, Status* status) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms > 0 ? timeout_ms : 0);
  std::vector<pollfd>* polled = &fds_;
  int timeout = timeout_ms;
  for (;;) {
    int ready = poll(polled->data(), static_cast<nfds_t>(polled->size()), timeout);
    if (ready == -1 && errno != EINTR) {
      *status = Status::Errno(errno, "poll");
      return -1;
    }
    if (ready == 0) return 0;
    if (ready > 0) {
      int count = Collect(*polled, out, capacity);
      if (count > 0 || timeout_ms == 0 || capacity == 0) return count;
      // Only closed fds (POLLNVAL) answered. Keep waiting for the rest of the
      // timeout without them, on a copy, since the registration stays until
      // unregister (and the helper thread may be copying fds_).
      if (polled != &scratch_) {
        scratch_ = fds_;
        polled = &scratch_;
      }
      for (pollfd& entry : scratch_) {
        if (entry.revents & POLLNVAL) entry.fd = -1;
      }
    }
    if (timeout_ms > 0) {
      // Retry with what is left, rounded up to whole milliseconds.
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0 && ready > 0) return 0;
      timeout = left > 0 ? static_cast<int>(left) : 0;
    }
  }
}

int PollSet::Collect(const std::vector<pollfd>& polled, int32_t* out, size_t capacity) {
  const size_t size = polled.size();
  const size_t start = next_ < size ? next_ : 0;
  size_t count = 0;
  for (size_t step = 0; step < size; step++) {
    const size_t slot = (start + step) % size;
    const int events = ReadyEvents(polled[slot]);
    if (events == 0) continue;
    if (count == capacity) {
      next_ = slot;  // level-triggered: the rest is reported by the next call
      break;
    }
    out[2 * count] = polled[slot].fd;
    out[2 * count + 1] = events;
    count++;
  }
  return static_cast<int>(count);
}

PollSet::Snapshot PollSet::TakeSnapshot() const {
  Snapshot snapshot;
  snapshot.fds_.reserve(fds_.size() + 1);
  snapshot.fds_.push_back(pollfd{-1, POLLIN, 0});
  // Field by field: the JS thread may be writing `revents` of fds_ right now.
  for (const pollfd& entry : fds_) snapshot.fds_.push_back(pollfd{entry.fd, entry.events, 0});
  return snapshot;
}

WaitOutcome PollSet::Snapshot::BlockUntilReady(int wake_fd, const Deadline& deadline, int* error) {
  fds_[0].fd = wake_fd;
  for (;;) {
    int ready = poll(fds_.data(), static_cast<nfds_t>(fds_.size()), deadline.RemainingMs());
    if (ready < 0) {
      if (errno == EINTR) continue;
      *error = errno;
      return WaitOutcome::kFailed;
    }
    if (fds_[0].revents != 0) return WaitOutcome::kWoken;
    if (ready == 0 && deadline.set()) return WaitOutcome::kTimedOut;
    bool any = false;
    for (size_t slot = 1; slot < fds_.size(); slot++) {
      if (fds_[slot].revents & POLLNVAL) {
        // Closed without being unregistered: poll ignores negative fds, so
        // this snapshot stops asking about it instead of spinning.
        fds_[slot].fd = -1;
      } else if (ReadyEvents(fds_[slot]) != 0) {
        any = true;
      }
    }
    if (any) return WaitOutcome::kReady;
  }
}

Status PollSet::Probe() {
  int fds[2];
  if (pipe(fds) != 0) return Status::Errno(errno, "pipe");
  pollfd entry{fds[1], POLLOUT, 0};
  int ready;
  do {
    ready = poll(&entry, 1, 0);
  } while (ready == -1 && errno == EINTR);
  int error = ready == -1 ? errno : 0;
  close(fds[0]);
  close(fds[1]);
  if (error != 0) return Status::Errno(error, "poll");
  // An empty pipe's write end must be writable; anything else means poll(2)
  // is not usable here.
  if (ready != 1 || !(entry.revents & POLLOUT)) return Status::Errno(EIO, "poll");
  return Status{};
}

}  // namespace evloop

#endif  // defined(EVLOOP_HAS_POSIX)
