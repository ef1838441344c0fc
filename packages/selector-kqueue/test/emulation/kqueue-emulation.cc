// kqueue(2) and kevent(2) emulated on Linux with epoll, for tests only: it
// lets the real src/native/kqueue.cc and addon.cc run (and the shared
// conformance suite drive them) on a machine without kqueue. It follows the
// kevent man pages of macOS and FreeBSD for what the selector relies on:
//
// - a filter is keyed by (fd, filter); EV_ADD of an existing one is no error;
//   EV_DELETE of a missing one is ENOENT; any change on a closed fd is EBADF;
// - a failed change, or any change with EV_RECEIPT, is reported as an
//   EV_ERROR entry (data = errno, 0 for success) while there is room, and then
//   no events are collected; without room a failed change ends the call with
//   -1 and errno;
// - filters are level-triggered; closing an fd drops its filters;
// - a regular file is accepted: EVFILT_WRITE is always ready, EVFILT_READ
//   while the file offset is before the end;
// - the kqueue fd is itself pollable (here it is an epoll fd), readable
//   while a filter is ready: a ready regular-file filter, which epoll cannot
//   watch, puts an always-readable eventfd in the epoll set until a kevent
//   call finds none ready.
//
// Ready filters are reported write filters first, then read filters, so an
// fd's two filters are not neighbours: the caller has to merge them. One
// lock guards the bookkeeping (worker threads share this library); it is
// not held while epoll_wait blocks.
#include <sys/event.h>

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

namespace {

// EV_RECEIPT's value, understood even when the header hides the name.
constexpr uint16_t kReceipt = 0x0040;

struct Filters {
  bool read = false;
  bool write = false;
  bool regular_file = false;  // epoll refused it (EPERM): readiness is computed
  dev_t device = 0;           // which file the filters belong to, to notice
  ino_t inode = 0;            // that the fd was closed and its number reused
};

struct Queue {
  std::map<int, Filters> fds;
  bool file_ready = false;  // kAlwaysReadable is in the epoll set
};

std::mutex lock;
std::map<int, Queue> queues;

// An eventfd that is never read, so always readable: in a queue's epoll set
// it makes the kqueue fd readable for ready regular files. Opened when the
// library loads, once per process, so no test sees it as a new fd.
const int kAlwaysReadable = [] {
  const int fd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
  return fd;
}();

// Puts kAlwaysReadable in or out of the queue's epoll set.
void MarkFileReady(int kq, Queue& queue, bool ready) {
  if (queue.file_ready == ready || kAlwaysReadable < 0) return;
  struct epoll_event event = {};
  event.events = EPOLLIN;
  event.data.fd = kAlwaysReadable;
  epoll_ctl(kq, ready ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, kAlwaysReadable, &event);
  queue.file_ready = ready;
}

// Forgets the filters of an fd that was closed (and maybe reused) since they
// were added, as closing the fd would have removed them from a real kqueue.
void DropIfStale(int kq, Queue& queue, int fd, const struct stat& status) {
  auto found = queue.fds.find(fd);
  if (found == queue.fds.end()) return;
  if (found->second.device == status.st_dev && found->second.inode == status.st_ino) return;
  epoll_ctl(kq, EPOLL_CTL_DEL, fd, nullptr);
  queue.fds.erase(found);
}

// Makes the epoll registration of fd match its filters. Returns 0 or errno.
int Sync(int kq, Queue& queue, int fd) {
  Filters& filters = queue.fds[fd];
  if (!filters.read && !filters.write) {
    if (!filters.regular_file) epoll_ctl(kq, EPOLL_CTL_DEL, fd, nullptr);
    queue.fds.erase(fd);
    return 0;
  }
  if (filters.regular_file) {
    // Maybe ready now: the next kevent call looks and says.
    MarkFileReady(kq, queue, true);
    return 0;
  }
  struct epoll_event event = {};
  event.events = (filters.read ? EPOLLIN : 0u) | (filters.write ? EPOLLOUT : 0u);
  event.data.fd = fd;
  if (epoll_ctl(kq, EPOLL_CTL_MOD, fd, &event) == 0) return 0;
  if (errno == ENOENT && epoll_ctl(kq, EPOLL_CTL_ADD, fd, &event) == 0) return 0;
  if (errno == EPERM) {
    filters.regular_file = true;
    MarkFileReady(kq, queue, true);
    return 0;
  }
  return errno;
}

int ApplyChange(int kq, Queue& queue, const struct kevent& change) {
  const int fd = static_cast<int>(change.ident);
  struct stat status;
  if (fstat(fd, &status) < 0) return EBADF;
  if (change.filter != EVFILT_READ && change.filter != EVFILT_WRITE) return EINVAL;
  DropIfStale(kq, queue, fd, status);
  const bool exists = queue.fds.count(fd) != 0;
  Filters& filters = queue.fds[fd];
  bool& wanted = change.filter == EVFILT_READ ? filters.read : filters.write;
  if (change.flags & EV_ADD) {
    const bool before = wanted;
    if (!exists) {
      filters.device = status.st_dev;
      filters.inode = status.st_ino;
    }
    wanted = true;
    const int error = Sync(kq, queue, fd);
    if (error != 0) {
      Filters& again = queue.fds[fd];
      (change.filter == EVFILT_READ ? again.read : again.write) = before;
      Sync(kq, queue, fd);
    }
    return error;
  }
  if (change.flags & EV_DELETE) {
    if (!wanted) {
      if (!exists) queue.fds.erase(fd);
      return ENOENT;
    }
    wanted = false;
    return Sync(kq, queue, fd);
  }
  return EINVAL;
}

struct kevent Ready(int fd, int filter, bool eof) {
  struct kevent event;
  EV_SET(&event, fd, filter, eof ? EV_EOF : 0, 0, 0, 0);
  return event;
}

}  // namespace

extern "C" int kqueue(void) {
  const int fd = epoll_create1(0);
  const std::lock_guard<std::mutex> guard(lock);
  if (fd >= 0) queues[fd] = Queue{};
  return fd;
}

extern "C" int kevent(int kq, const struct kevent* changelist, int nchanges, struct kevent* eventlist, int nevents,
                      const struct timespec* timeout) {
  std::unique_lock<std::mutex> guard(lock);
  auto found = queues.find(kq);
  if (found == queues.end() || fcntl(kq, F_GETFD) < 0) {
    errno = EBADF;
    return -1;
  }
  Queue& queue = found->second;
  int written = 0;
  for (int i = 0; i < nchanges; i++) {
    const int error = ApplyChange(kq, queue, changelist[i]);
    if (error == 0 && (changelist[i].flags & kReceipt) == 0) continue;
    if (written < nevents) {
      eventlist[written] = changelist[i];
      eventlist[written].flags = EV_ERROR;
      eventlist[written].data = error;
      written++;
    } else if (error != 0) {
      errno = error;
      return -1;
    }
  }
  if (written > 0 || nevents == 0) return written;

  // Regular files are ready without epoll; with one ready, do not block.
  std::vector<std::pair<int, int>> files;  // (fd, filter)
  for (auto& [fd, filters] : queue.fds) {
    if (!filters.regular_file) continue;
    struct stat status;
    if (fstat(fd, &status) < 0) continue;
    if (filters.write) files.emplace_back(fd, EVFILT_WRITE);
    const off_t offset = lseek(fd, 0, SEEK_CUR);
    if (filters.read && offset >= 0 && offset < status.st_size) files.emplace_back(fd, EVFILT_READ);
  }
  int timeout_ms = -1;
  if (timeout != nullptr) {
    const long long nanos = static_cast<long long>(timeout->tv_sec) * 1000000000LL + timeout->tv_nsec;
    timeout_ms = static_cast<int>((nanos + 999999) / 1000000);
  }
  if (!files.empty()) timeout_ms = 0;
  MarkFileReady(kq, queue, !files.empty());
  std::vector<struct epoll_event> ready(static_cast<size_t>(nevents));
  guard.unlock();
  const int count = epoll_wait(kq, ready.data(), nevents, timeout_ms);
  if (count < 0) return -1;  // errno from epoll_wait, EINTR included
  guard.lock();

  std::vector<struct kevent> events;
  for (const auto& [fd, filter] : files) events.push_back(Ready(fd, filter, false));
  for (int pass = 0; pass < 2; pass++) {
    const int filter = pass == 0 ? EVFILT_WRITE : EVFILT_READ;
    for (int i = 0; i < count; i++) {
      const int fd = ready[i].data.fd;
      const uint32_t bits = ready[i].events;
      auto entry = queue.fds.find(fd);
      if (entry == queue.fds.end()) continue;
      const Filters& filters = entry->second;
      const bool hangup = (bits & (EPOLLHUP | EPOLLRDHUP)) != 0;
      if (filter == EVFILT_WRITE && filters.write && (bits & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        events.push_back(Ready(fd, filter, (bits & EPOLLHUP) != 0));
      }
      if (filter == EVFILT_READ && filters.read && (bits & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))) {
        events.push_back(Ready(fd, filter, hangup));
      }
    }
  }
  // Level-triggered: what does not fit is still ready on the next call.
  for (const struct kevent& event : events) {
    if (written == nevents) break;
    eventlist[written++] = event;
  }
  return written;
}
