// POSIX only; on Windows addon.cc exports only unsupportedReason.
#include "evloop/platform.h"

#if defined(EVLOOP_HAS_POSIX)

#include "select.h"

#include <algorithm>
#include <chrono>
#include <string>

#include <errno.h>
#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

namespace evloop {

namespace {

using Clock = std::chrono::steady_clock;

bool IsClosed(int fd) { return fcntl(fd, F_GETFD) == -1 && errno == EBADF; }

// select(2) fails the whole call with EBADF when one fd in the sets was
// closed. Clears every closed fd from the sets (they are dropped, never
// reported ready) and says whether any was found, i.e. whether a retry can
// succeed.
bool DropClosed(const std::vector<int>& fds, fd_set* read, fd_set* write, fd_set* except) {
  bool dropped = false;
  for (int fd : fds) {
    if ((FD_ISSET(fd, read) || FD_ISSET(fd, write) || FD_ISSET(fd, except)) && IsClosed(fd)) {
      FD_CLR(fd, read);
      FD_CLR(fd, write);
      FD_CLR(fd, except);
      dropped = true;
    }
  }
  return dropped;
}

timeval ToTimeval(long long ms) {
  timeval tv;
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms % 1000) * 1000);
  return tv;
}

}  // namespace

SelectSet::SelectSet() {
  FD_ZERO(&read_);
  FD_ZERO(&write_);
  FD_ZERO(&except_);
}

void SelectSet::Store(int fd, int events) {
  if (events & kEventRead) FD_SET(fd, &read_); else FD_CLR(fd, &read_);
  if (events & kEventWrite) FD_SET(fd, &write_); else FD_CLR(fd, &write_);
  // exceptfds: urgent (out-of-band) data, as POLLPRI.
  if (events & kEventPriority) FD_SET(fd, &except_); else FD_CLR(fd, &except_);
}

Status SelectSet::Add(int fd, int events) {
  if (fd < 0 || fd >= kFdLimit) {
    Status status;
    status.range_error = "fd " + std::to_string(fd) + " is out of range for select(2): FD_SETSIZE is " +
                         std::to_string(kFdLimit) + "; use the poll or epoll backend for fds that high";
    return status;
  }
  if (index_.count(fd) != 0) return Status::Errno(EEXIST, "select");
  // select(2) would fail every later wait with EBADF; fail here instead.
  if (fcntl(fd, F_GETFD) == -1) return Status::Errno(errno, "fcntl");
  index_.emplace(fd, fds_.size());
  fds_.push_back(fd);
  Store(fd, events);
  max_fd_ = std::max(max_fd_, fd);
  return Status{};
}

Status SelectSet::Modify(int fd, int events) {
  if (index_.count(fd) == 0) return Status::Errno(ENOENT, "select");
  Store(fd, events);
  return Status{};
}

Status SelectSet::Remove(int fd) {
  auto found = index_.find(fd);
  if (found == index_.end()) return Status::Errno(ENOENT, "select");
  size_t slot = found->second;
  index_.erase(found);
  if (slot != fds_.size() - 1) {
    fds_[slot] = fds_.back();
    index_[fds_[slot]] = slot;
  }
  fds_.pop_back();
  FD_CLR(fd, &read_);
  FD_CLR(fd, &write_);
  FD_CLR(fd, &except_);
  if (fd == max_fd_) max_fd_ = fds_.empty() ? -1 : *std::max_element(fds_.begin(), fds_.end());
  if (next_ >= fds_.size()) next_ = 0;
  return Status{};
}

void SelectSet::Close() {
  FD_ZERO(&read_);
  FD_ZERO(&write_);
  FD_ZERO(&except_);
  fds_.clear();
  index_.clear();
  max_fd_ = -1;
  next_ = 0;
}

int SelectSet::Wait(int32_t* out, size_t capacity, int timeout_ms, Status* status) {
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms > 0 ? timeout_ms : 0);
  fd_set wanted_read = read_;
  fd_set wanted_write = write_;
  fd_set wanted_except = except_;
  fd_set ready_read, ready_write, ready_except;
  long long left = timeout_ms;
  int ready;
  for (;;) {
    ready_read = wanted_read;
    ready_write = wanted_write;
    ready_except = wanted_except;
    timeval tv = ToTimeval(left);
    ready = select(max_fd_ + 1, &ready_read, &ready_write, &ready_except, timeout_ms < 0 ? nullptr : &tv);
    if (ready >= 0) break;
    int error = errno;
    if (error == EBADF && DropClosed(fds_, &wanted_read, &wanted_write, &wanted_except)) {
      // retry without the closed fds
    } else if (error != EINTR) {
      *status = Status::Errno(error, "select");
      return -1;
    }
    if (timeout_ms > 0) {
      // Retry with what is left, rounded up to whole milliseconds.
      left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left < 0) left = 0;
    }
  }
  if (ready == 0) return 0;

  const size_t size = fds_.size();
  const size_t start = next_ < size ? next_ : 0;
  size_t count = 0;
  for (size_t step = 0; step < size; step++) {
    const size_t slot = (start + step) % size;
    const int fd = fds_[slot];
    const int events = (FD_ISSET(fd, &ready_read) ? kEventRead : 0) | (FD_ISSET(fd, &ready_write) ? kEventWrite : 0) |
                       (FD_ISSET(fd, &ready_except) ? kEventPriority : 0);
    if (events == 0) continue;
    if (count == capacity) {
      next_ = slot;  // level-triggered: the rest is reported by the next call
      return static_cast<int>(count);
    }
    out[2 * count] = fd;
    out[2 * count + 1] = events;
    count++;
  }
  return static_cast<int>(count);
}

SelectSet::Snapshot SelectSet::TakeSnapshot() const {
  Snapshot snapshot;
  snapshot.read_ = read_;
  snapshot.write_ = write_;
  snapshot.except_ = except_;
  snapshot.fds_ = fds_;
  snapshot.max_fd_ = max_fd_;
  return snapshot;
}

WaitOutcome SelectSet::Snapshot::BlockUntilReady(int wake_fd, const Deadline& deadline, int* error) {
  const int nfds = std::max(max_fd_, wake_fd) + 1;
  for (;;) {
    fd_set ready_read = read_;
    fd_set ready_write = write_;
    fd_set ready_except = except_;
    FD_SET(wake_fd, &ready_read);
    const int left = deadline.RemainingMs();
    timeval tv = ToTimeval(left);
    int ready = select(nfds, &ready_read, &ready_write, &ready_except, left < 0 ? nullptr : &tv);
    if (ready < 0) {
      if (errno == EINTR) continue;
      // A registered fd was closed without being unregistered: stop asking
      // about it in this snapshot rather than failing or spinning.
      if (errno == EBADF && DropClosed(fds_, &read_, &write_, &except_)) continue;
      *error = errno;
      return WaitOutcome::kFailed;
    }
    if (FD_ISSET(wake_fd, &ready_read)) return WaitOutcome::kWoken;
    if (ready > 0) return WaitOutcome::kReady;
    if (deadline.set()) return WaitOutcome::kTimedOut;
  }
}

Status SelectSet::Probe() {
  int fds[2];
  if (pipe(fds) != 0) return Status::Errno(errno, "pipe");
  if (fds[1] >= FD_SETSIZE) {
    close(fds[0]);
    close(fds[1]);
    return Status::Errno(EMFILE, "select");
  }
  fd_set write;
  FD_ZERO(&write);
  FD_SET(fds[1], &write);
  timeval tv{0, 0};
  int ready;
  do {
    ready = select(fds[1] + 1, nullptr, &write, nullptr, &tv);
  } while (ready == -1 && errno == EINTR);
  int error = ready == -1 ? errno : 0;
  bool writable = ready == 1 && FD_ISSET(fds[1], &write);
  close(fds[0]);
  close(fds[1]);
  if (error != 0) return Status::Errno(error, "select");
  // An empty pipe's write end must be writable; anything else means
  // select(2) is not usable here.
  if (!writable) return Status::Errno(EIO, "select");
  return Status{};
}

}  // namespace evloop

#endif  // defined(EVLOOP_HAS_POSIX)
