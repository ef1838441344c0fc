// The I/O completion port of @evloop/proactor-iocp (Windows): overlapped
// socket and file operations started on one port, their completions
// dequeued in bulk. No Node-API types here; addon.cc is the glue.
//
// Every operation is an IocpOperation the port allocates; its OVERLAPPED is
// the kernel's until the completion packet has been dequeued, and only then
// is it freed (Release). The data buffers belong to JavaScript, which keeps
// them referenced for as long. An operation that fails to start is not lost:
// the port posts a packet of its own for it (kKeyFailed), so every operation
// completes exactly once through the port, as the Proactor contract asks.
//
// The idle wait (evloop/idle_waiter.h) runs GetQueuedCompletionStatusEx on a
// helper thread: what it dequeues is kept in the port's stash (under a lock)
// for the JS thread's next Harvest; IocpWake wakes it with a packet of its
// own key.
#ifndef EVLOOP_IOCP_H_
#define EVLOOP_IOCP_H_

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "evloop/status.h"

namespace evloop {

// Operation kinds; the JS side uses the same numbers.
enum class OpKind : int {
  kRecv = 0,
  kSend = 1,
  kRecvFrom = 2,
  kSendTo = 3,
  kAccept = 4,
  kConnect = 5,
  kPoll = 6,
  kTransmitFile = 7,
  // Overlapped ReadFile/WriteFile on a pipe (or file) HANDLE.
  kRead = 8,
  kWrite = 9,
};

// IOCTL_AFD_POLL's buffer, in and out, for one socket (the layout the AFD
// driver reads; libuv, mio and wepoll declare it the same way).
struct AfdPollHandleInfo {
  HANDLE handle;
  ULONG events;
  LONG status;
};
struct AfdPollInfo {
  LARGE_INTEGER timeout;
  ULONG number_of_handles;
  ULONG exclusive;
  AfdPollHandleInfo handles[1];
};

struct IocpOperation {
  OVERLAPPED overlapped;  // first: the packet's lpOverlapped is the operation
  int32_t token = 0;
  OpKind kind = OpKind::kRecv;
  uintptr_t handle = 0;
  // kAccept: the socket AcceptEx accepts into, closed unless handed out.
  SOCKET accepted = INVALID_SOCKET;
  bool handed_out = false;
  // Why a start failed (posted with kKeyFailed), a Win32 or WSA error.
  unsigned long start_error = 0;
  WSABUF buffer{};
  DWORD flags = 0;
  // kRecvFrom: the sender; kSendTo/kConnect: the destination.
  sockaddr_storage address{};
  int address_length = 0;
  // kAccept: AcceptEx's local and remote addresses (no data).
  char accept_space[2 * (sizeof(sockaddr_storage) + 16)];
  // kPoll: the base socket watched (`handle` is then the port's AFD
  // handle, which CancelIoEx needs), the EVENT_* mask asked for, and the
  // poll buffer the driver writes the outcome into.
  SOCKET poll_socket = INVALID_SOCKET;
  int wanted = 0;
  AfdPollInfo poll{};
  // kTransmitFile: the file (a HANDLE the caller keeps open), where to
  // start in it and how many bytes to send (never 0: that means "all").
  HANDLE file = nullptr;
  uint64_t file_offset = 0;
  DWORD transmit_count = 0;
  // kRead/kWrite: the file offset, or -1 for none (a pipe).
  int64_t position = -1;
};

// One dequeued completion: the operation and its outcome.
struct IocpCompletion {
  IocpOperation* operation;
  int32_t result;       // bytes, the accepted socket or 0, when error is 0
  unsigned long error;  // else the Win32 or WSA error (addon.cc maps it to -errno)
};

// Starts Winsock once per process; 0 or an errno.
int StartWinsock();

// The base provider's socket under `socket` (SIO_BASE_HANDLE), which AFD
// polls; the socket itself when a provider does not answer. 0, or the WSA
// error (WSAENOTSOCK: not a socket, or not open).
unsigned long BaseSocket(SOCKET socket, SOCKET* base);

class IocpPort {
 public:
  static constexpr const char* kName = "iocp";
  static constexpr ULONG_PTR kKeyOperation = 1;
  static constexpr ULONG_PTR kKeyFailed = 2;
  static constexpr ULONG_PTR kKeyWake = 3;

  // Makes a port, posts a packet to it and dequeues it.
  static Status Probe();

  IocpPort() = default;
  ~IocpPort() { Close(); }
  IocpPort(const IocpPort&) = delete;
  IocpPort& operator=(const IocpPort&) = delete;

  Status Open();
  HANDLE port() const { return port_; }
  bool open() const { return port_ != nullptr; }

  // Starts `op` (filled in by the caller: token, kind, handle, buffer,
  // flags, address; for kPoll poll_socket and wanted; for kTransmitFile
  // file, file_offset and transmit_count) and returns ok once a completion is sure to come; an
  // error only when not even the failure packet could be posted.
  Status Start(IocpOperation* op);
  // CancelIoEx on the operation's handle; its completion still arrives.
  void Cancel(IocpOperation* op);
  // Dequeues up to `capacity` completions (the stash first), waiting up to
  // timeout_ms (-1 forever, 0 not at all) only when there is none yet.
  int Harvest(IocpCompletion* out, size_t capacity, int timeout_ms, Status* status);
  // Frees an operation whose completion has been harvested.
  static void Release(IocpOperation* op);
  void Close();

  // The helper thread's side (idle_waiter.h's Set).
  class Snapshot {
   public:
    explicit Snapshot(IocpPort* port) : port_(port) {}
    WaitOutcome BlockUntilReady(HANDLE wake, const Deadline& deadline, int* error);

   private:
    IocpPort* port_;
  };
  Snapshot TakeSnapshot() { return Snapshot(this); }

 private:
  // 0 once the kernel will queue a packet, else the error of the start.
  unsigned long StartOne(IocpOperation* op);
  IocpCompletion Finish(IocpOperation* op, ULONG_PTR key, DWORD bytes);
  // Moves packets into out/stash; returns how many real completions.
  size_t Take(const OVERLAPPED_ENTRY* entries, ULONG count, IocpCompletion* out, size_t capacity);

  // kPoll: opens the port's handle to the AFD driver on first use; 0 or the error.
  unsigned long OpenAfd();

  HANDLE port_ = nullptr;
  // The readiness polls' handle to the AFD driver (\Device\Afd), associated with the port.
  HANDLE afd_ = nullptr;
  std::mutex stash_lock_;
  std::vector<IocpCompletion> stash_;
};

// The idle waiter's wake signal: a packet of its own key on the set's port.
class IocpWake {
 public:
  using Handle = HANDLE;
  static constexpr bool kHasFd = false;

  void Bind(IocpPort* port) { port_ = port; }
  int Open(const char** syscall) {
    if (port_ == nullptr || !port_->open()) {
      *syscall = "CreateIoCompletionPort";
      return EBADF;
    }
    return 0;
  }
  Handle handle() const { return port_->port(); }
  void Signal() {
    if (port_ != nullptr && port_->open()) PostQueuedCompletionStatus(port_->port(), 0, IocpPort::kKeyWake, nullptr);
  }
  void Drain() {}
  void Close() {}

 private:
  IocpPort* port_ = nullptr;
};

// Socket addresses: encode [host, port, flowinfo, scopeId] for `family`, or
// decode one (false for a family it does not know).
bool EncodeAddress(int family, const char* host, int port, uint32_t flowinfo, uint32_t scope_id,
                   sockaddr_storage* out, int* length);
struct DecodedAddress {
  int family;
  char host[INET6_ADDRSTRLEN];
  int port;
  uint32_t flowinfo;
  uint32_t scope_id;
};
bool DecodeAddress(const sockaddr_storage& address, DecodedAddress* out);
// The socket's address family (from getsockname), or -1 with *error set.
int SocketFamily(SOCKET socket, unsigned long* error);

}  // namespace evloop

#endif  // EVLOOP_IOCP_H_
