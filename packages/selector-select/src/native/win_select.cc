// select() over Winsock for @evloop/selector-select (see winsock_select.h).
#include "winsock_select.h"

#include <ws2tcpip.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

#include "evloop/errors.h"

namespace evloop {

namespace {

using Clock = std::chrono::steady_clock;

int LastErrno() { return ErrnoFromWin32(static_cast<unsigned long>(WSAGetLastError())); }

bool IsSocket(SOCKET socket) {
  int type = 0, length = sizeof type;
  return getsockopt(socket, SOL_SOCKET, SO_TYPE, reinterpret_cast<char*>(&type), &length) == 0;
}

timeval ToTimeval(long long ms) {
  timeval tv;
  tv.tv_sec = static_cast<long>(ms / 1000);
  tv.tv_usec = static_cast<long>((ms % 1000) * 1000);
  return tv;
}

// The sets for `sockets`/`events`, skipping those that are no longer
// sockets (closed without unregister: select would fail the whole call with
// WSAENOTSOCK) when `check` is set.
void Fill(const std::vector<SOCKET>& sockets, const std::vector<int>& events, bool check, fd_set* read,
          fd_set* write) {
  FD_ZERO(read);
  FD_ZERO(write);
  for (size_t i = 0; i < sockets.size(); i++) {
    if (check && !IsSocket(sockets[i])) continue;
    if (events[i] & kEventRead) FD_SET(sockets[i], read);
    if (events[i] & kEventWrite) FD_SET(sockets[i], write);
  }
}

// select() with all three sets empty fails (WSAEINVAL) instead of sleeping.
int SelectOrSleep(fd_set* read, fd_set* write, long long timeout_ms) {
  if (read->fd_count == 0 && write->fd_count == 0) {
    Sleep(timeout_ms < 0 ? INFINITE : static_cast<DWORD>(timeout_ms));
    return 0;
  }
  timeval tv = ToTimeval(timeout_ms < 0 ? 0 : timeout_ms);
  // Winsock reports a failed connect in the except set, not the write set:
  // ask for it too and report it as writable, as POSIX does (SO_ERROR tells).
  fd_set except = *write;
  const int ready = select(0, read, write, &except, timeout_ms < 0 ? nullptr : &tv);
  if (ready > 0) {
    for (u_int i = 0; i < except.fd_count; i++) FD_SET(except.fd_array[i], write);
  }
  return ready;
}

}  // namespace

int StartWinsock() {
  static const int result = [] {
    WSADATA data;
    const int status = WSAStartup(MAKEWORD(2, 2), &data);
    return status == 0 ? 0 : ErrnoFromWin32(static_cast<unsigned long>(status));
  }();
  return result;
}

int DefaultWake::Open(const char** syscall) {
  const int started = StartWinsock();
  if (started != 0) {
    *syscall = "WSAStartup";
    return started;
  }
  SOCKET listener = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  if (listener == INVALID_SOCKET) {
    *syscall = "socket";
    return LastErrno();
  }
  sockaddr_in address;
  std::memset(&address, 0, sizeof address);
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int length = sizeof address;
  SOCKET client = INVALID_SOCKET, server = INVALID_SOCKET;
  sockaddr_in client_name, server_peer;
  int client_length = sizeof client_name, peer_length = sizeof server_peer;
  const char* failed = nullptr;
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) failed = "bind";
  else if (listen(listener, 1) != 0) failed = "listen";
  else if (getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) failed = "getsockname";
  else if ((client = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)) == INVALID_SOCKET) failed = "socket";
  else if (connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) failed = "connect";
  else if (getsockname(client, reinterpret_cast<sockaddr*>(&client_name), &client_length) != 0) failed = "getsockname";
  else if ((server = accept(listener, reinterpret_cast<sockaddr*>(&server_peer), &peer_length)) == INVALID_SOCKET) failed = "accept";
  int error = failed != nullptr ? LastErrno() : 0;
  if (failed == nullptr && (server_peer.sin_port != client_name.sin_port || server_peer.sin_addr.s_addr != client_name.sin_addr.s_addr)) {
    // Someone else connected first: not our pair.
    failed = "accept";
    error = ECONNABORTED;
  }
  closesocket(listener);
  u_long nonblocking = 1;
  if (failed == nullptr && (ioctlsocket(server, FIONBIO, &nonblocking) != 0 || ioctlsocket(client, FIONBIO, &nonblocking) != 0)) {
    failed = "ioctlsocket";
    error = LastErrno();
  }
  if (failed != nullptr) {
    if (client != INVALID_SOCKET) closesocket(client);
    if (server != INVALID_SOCKET) closesocket(server);
    *syscall = failed;
    return error;
  }
  BOOL nodelay = TRUE;
  setsockopt(client, IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char*>(&nodelay), sizeof nodelay);
  read_ = server;
  write_ = client;
  return 0;
}

// From any thread. A full send buffer (WSAEWOULDBLOCK) already means "wake up".
void DefaultWake::Signal() {
  if (write_ == INVALID_SOCKET) return;
  const char byte = 1;
  send(write_, &byte, 1, 0);
}

void DefaultWake::Drain() {
  char buffer[64];
  while (recv(read_, buffer, sizeof buffer, 0) > 0) {
  }
}

void DefaultWake::Close() {
  if (read_ != INVALID_SOCKET) closesocket(read_);
  if (write_ != INVALID_SOCKET) closesocket(write_);
  read_ = write_ = INVALID_SOCKET;
}

Status SelectSet::Add(int fd, int events) {
  const SOCKET socket = static_cast<SOCKET>(static_cast<intptr_t>(fd));
  if (fd < 0) return Status::Errno(EBADF, "select");
  if (index_.count(socket) != 0) return Status::Errno(EEXIST, "select");
  if (sockets_.size() >= static_cast<size_t>(kFdLimit)) {
    return Status::Range("cannot register socket " + std::to_string(fd) + ": select() on Windows takes at most " +
                         std::to_string(kFdLimit) + " sockets (FD_SETSIZE is " + std::to_string(FD_SETSIZE) +
                         ", one slot is the helper thread's wake socket); use the IOCP backend for more");
  }
  // select() would fail every later wait on a non-socket; fail here instead.
  int type = 0, length = sizeof type;
  if (getsockopt(socket, SOL_SOCKET, SO_TYPE, reinterpret_cast<char*>(&type), &length) != 0) {
    return Status::Errno(LastErrno(), "select");
  }
  index_.emplace(socket, sockets_.size());
  sockets_.push_back(socket);
  events_.push_back(events);
  return Status{};
}

Status SelectSet::Modify(int fd, int events) {
  auto found = index_.find(static_cast<SOCKET>(static_cast<intptr_t>(fd)));
  if (found == index_.end()) return Status::Errno(ENOENT, "select");
  events_[found->second] = events;
  return Status{};
}

Status SelectSet::Remove(int fd) {
  auto found = index_.find(static_cast<SOCKET>(static_cast<intptr_t>(fd)));
  if (found == index_.end()) return Status::Errno(ENOENT, "select");
  const size_t slot = found->second;
  index_.erase(found);
  if (slot != sockets_.size() - 1) {
    sockets_[slot] = sockets_.back();
    events_[slot] = events_.back();
    index_[sockets_[slot]] = slot;
  }
  sockets_.pop_back();
  events_.pop_back();
  if (next_ >= sockets_.size()) next_ = 0;
  return Status{};
}

void SelectSet::Close() {
  sockets_.clear();
  events_.clear();
  index_.clear();
  next_ = 0;
}

int SelectSet::Wait(int32_t* out, size_t capacity, int timeout_ms, Status* status) {
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms > 0 ? timeout_ms : 0);
  fd_set ready_read, ready_write;
  long long left = timeout_ms;
  bool check = false;
  int ready;
  for (;;) {
    Fill(sockets_, events_, check, &ready_read, &ready_write);
    ready = SelectOrSleep(&ready_read, &ready_write, left);
    if (ready >= 0) break;
    const int error = WSAGetLastError();
    if (error == WSAENOTSOCK && !check) {
      check = true;  // retry without the sockets closed while registered
    } else if (error != WSAEINTR) {
      *status = Status::Errno(ErrnoFromWin32(static_cast<unsigned long>(error)), "select");
      return -1;
    }
    if (timeout_ms > 0) {
      left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left < 0) left = 0;
    }
  }
  if (ready == 0) return 0;
  const size_t size = sockets_.size();
  const size_t start = next_ < size ? next_ : 0;
  size_t count = 0;
  for (size_t step = 0; step < size; step++) {
    const size_t slot = (start + step) % size;
    const SOCKET socket = sockets_[slot];
    const int events = (FD_ISSET(socket, &ready_read) ? kEventRead : 0) | (FD_ISSET(socket, &ready_write) ? kEventWrite : 0);
    if (events == 0) continue;
    if (count == capacity) {
      next_ = slot;
      return static_cast<int>(count);
    }
    out[2 * count] = static_cast<int32_t>(static_cast<intptr_t>(socket));
    out[2 * count + 1] = events;
    count++;
  }
  return static_cast<int>(count);
}

SelectSet::Snapshot SelectSet::TakeSnapshot() const {
  Snapshot snapshot;
  snapshot.sockets_ = sockets_;
  snapshot.events_ = events_;
  return snapshot;
}

WaitOutcome SelectSet::Snapshot::BlockUntilReady(SOCKET wake, const Deadline& deadline, int* error) {
  bool check = false;
  for (;;) {
    fd_set ready_read, ready_write;
    Fill(sockets_, events_, check, &ready_read, &ready_write);
    FD_SET(wake, &ready_read);
    const int ready = SelectOrSleep(&ready_read, &ready_write, deadline.RemainingMs());
    if (ready < 0) {
      const int code = WSAGetLastError();
      if (code == WSAEINTR) continue;
      // A registered socket was closed without unregister: stop asking about
      // it in this snapshot rather than failing or spinning.
      if (code == WSAENOTSOCK && !check) {
        check = true;
        continue;
      }
      *error = ErrnoFromWin32(static_cast<unsigned long>(code));
      return WaitOutcome::kFailed;
    }
    if (FD_ISSET(wake, &ready_read)) return WaitOutcome::kWoken;
    if (ready > 0) return WaitOutcome::kReady;
    if (deadline.set()) return WaitOutcome::kTimedOut;
  }
}

Status SelectSet::Probe() {
  const int started = StartWinsock();
  if (started != 0) return Status::Errno(started, "WSAStartup");
  SOCKET probe = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
  if (probe == INVALID_SOCKET) return Status::Errno(LastErrno(), "socket");
  fd_set write;
  FD_ZERO(&write);
  FD_SET(probe, &write);
  timeval tv{0, 0};
  const int ready = select(0, nullptr, &write, nullptr, &tv);
  const int error = ready == SOCKET_ERROR ? LastErrno() : 0;
  const bool writable = ready == 1 && FD_ISSET(probe, &write);
  closesocket(probe);
  if (error != 0) return Status::Errno(error, "select");
  // A fresh UDP socket is writable; anything else means select() is not usable here.
  if (!writable) return Status::Errno(EIO, "select");
  return Status{};
}

}  // namespace evloop
