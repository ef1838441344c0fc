// The completion port's syscalls (see iocp.h): overlapped WSARecv, WSASend,
// WSARecvFrom, WSASendTo, AcceptEx and ConnectEx (both found through
// WSAIoctl), TransmitFile (the same way), ReadFile and WriteFile on pipe
// HANDLEs, CancelIoEx, and GetQueuedCompletionStatusEx for the harvest and
// for the helper thread's idle wait. Readiness (addReader/addWriter) is an
// IOCTL_AFD_POLL on a handle to the AFD driver, one per port, as libuv, mio
// and wepoll do: one one-shot poll per watched socket, completed through
// the port like any other operation.
#include "iocp.h"

#include <mswsock.h>
#include <winternl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace evloop {

namespace {

constexpr LONG kStatusBufferOverflow = static_cast<LONG>(0x80000005L);
constexpr LONG kStatusPending = 0x00000103L;
constexpr size_t kBatch = 256;

// The AFD driver's poll (its ioctl code and event bits are not in the SDK).
constexpr ULONG kIoctlAfdPoll = 0x00012024;
constexpr ULONG kAfdPollReceive = 0x0001;
constexpr ULONG kAfdPollReceiveExpedited = 0x0002;
constexpr ULONG kAfdPollSend = 0x0004;
constexpr ULONG kAfdPollDisconnect = 0x0008;
constexpr ULONG kAfdPollAbort = 0x0010;
constexpr ULONG kAfdPollLocalClose = 0x0020;
constexpr ULONG kAfdPollAccept = 0x0080;
constexpr ULONG kAfdPollConnectFail = 0x0100;
// What wakes a reader: data, a connection to accept, the peer's FIN; and
// what wakes both, as POLLERR/POLLHUP wake both on a selector: a reset, a
// failed connect. A socket closed under the poll (LOCAL_CLOSE) ends it.
constexpr ULONG kAfdReadable = kAfdPollReceive | kAfdPollAccept | kAfdPollDisconnect;
constexpr ULONG kAfdWritable = kAfdPollSend;
constexpr ULONG kAfdBoth = kAfdPollAbort | kAfdPollConnectFail;
constexpr int kEventRead = 1;   // EVENT_READ
constexpr int kEventWrite = 2;  // EVENT_WRITE

ULONG AfdEventsFor(int wanted) {
  ULONG events = kAfdBoth | kAfdPollLocalClose;
  if ((wanted & kEventRead) != 0) events |= kAfdReadable;
  if ((wanted & kEventWrite) != 0) events |= kAfdWritable;
  return events;
}

// The EVENT_* mask a poll's outcome means, within what was asked; what
// was asked when the outcome says nothing more precise.
int ReadyEvents(ULONG afd, int wanted) {
  int events = 0;
  if ((afd & (kAfdReadable | kAfdBoth | kAfdPollReceiveExpedited)) != 0) events |= kEventRead;
  if ((afd & (kAfdWritable | kAfdBoth)) != 0) events |= kEventWrite;
  events &= wanted;
  return events == 0 ? wanted : events;
}

using NtCreateFileFunction = NTSTATUS(NTAPI*)(PHANDLE, ACCESS_MASK, POBJECT_ATTRIBUTES, PIO_STATUS_BLOCK,
                                               PLARGE_INTEGER, ULONG, ULONG, ULONG, ULONG, PVOID, ULONG);
using NtDeviceIoControlFileFunction = NTSTATUS(NTAPI*)(HANDLE, HANDLE, PIO_APC_ROUTINE, PVOID, PIO_STATUS_BLOCK,
                                                        ULONG, PVOID, ULONG, PVOID, ULONG);
NtCreateFileFunction nt_create_file = nullptr;
NtDeviceIoControlFileFunction nt_device_io_control_file = nullptr;

// AcceptEx and ConnectEx are Winsock extensions: their addresses come from
// the provider through WSAIoctl, once per process (the same for every
// TCP socket of the base provider, as libuv and mio assume too).
template <typename Function>
Function ExtensionFunction(SOCKET socket, GUID guid, unsigned long* error) {
  Function function = nullptr;
  DWORD bytes = 0;
  if (WSAIoctl(socket, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof guid, &function, sizeof function, &bytes,
               nullptr, nullptr) == SOCKET_ERROR) {
    *error = WSAGetLastError();
    return nullptr;
  }
  return function;
}

LPFN_ACCEPTEX accept_ex = nullptr;
LPFN_CONNECTEX connect_ex = nullptr;
LPFN_TRANSMITFILE transmit_file = nullptr;
std::mutex extension_lock;

// NtCreateFile and NtDeviceIoControlFile from ntdll, once per process.
bool LoadNtFunctions() {
  static const bool loaded = [] {
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    if (ntdll == nullptr) return false;
    nt_create_file = reinterpret_cast<NtCreateFileFunction>(GetProcAddress(ntdll, "NtCreateFile"));
    nt_device_io_control_file =
        reinterpret_cast<NtDeviceIoControlFileFunction>(GetProcAddress(ntdll, "NtDeviceIoControlFile"));
    return nt_create_file != nullptr && nt_device_io_control_file != nullptr;
  }();
  return loaded;
}

unsigned long ErrorOfStatus(NTSTATUS status) {
  const unsigned long error = RtlNtStatusToDosError(status);
  return error == 0 ? ERROR_GEN_FAILURE : error;
}

bool IsReadKind(OpKind kind) { return kind == OpKind::kRecv || kind == OpKind::kRecvFrom || kind == OpKind::kRead; }

// Overlapped ReadFile/WriteFile: 0 once a packet is sure to come.
unsigned long StartFileIo(IocpOperation* op) {
  if (op->position >= 0) {
    op->overlapped.Offset = static_cast<DWORD>(static_cast<uint64_t>(op->position) & 0xffffffffu);
    op->overlapped.OffsetHigh = static_cast<DWORD>(static_cast<uint64_t>(op->position) >> 32);
  }
  const HANDLE handle = reinterpret_cast<HANDLE>(op->handle);
  const BOOL ok = op->kind == OpKind::kRead
                      ? ReadFile(handle, op->buffer.buf, op->buffer.len, nullptr, &op->overlapped)
                      : WriteFile(handle, op->buffer.buf, op->buffer.len, nullptr, &op->overlapped);
  if (ok) return 0;
  const unsigned long error = GetLastError();
  return error == ERROR_IO_PENDING ? 0 : error;
}

// A failed accept whose listener is fine means that connection is gone
// (reset or aborted before it was taken; Wine reports several ways): it is
// ECONNABORTED, which the loop skips, as libuv queues its AcceptEx again.
// What says the listener itself is unusable, or that we ran out of
// something, stays as it is.
unsigned long AcceptError(unsigned long error) {
  switch (error) {
    case ERROR_OPERATION_ABORTED:
    case ERROR_INVALID_HANDLE:
    case WSAENOTSOCK:
    case WSAEINVAL:
    case WSAEMFILE:
    case WSAENOBUFS:
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_NO_SYSTEM_RESOURCES:
      return error;
    default:
      return WSAECONNABORTED;
  }
}

// Winsock reports an address of the other family variously (WSAEFAULT,
// WSAEOPNOTSUPP, ...); on that failure path say what POSIX says.
unsigned long AddressError(const IocpOperation* op, unsigned long error) {
  if (op->kind != OpKind::kSendTo && op->kind != OpKind::kConnect) return error;
  unsigned long ignored = 0;
  const int family = SocketFamily(static_cast<SOCKET>(op->handle), &ignored);
  return family >= 0 && family != op->address.ss_family ? WSAEAFNOSUPPORT : error;
}

}  // namespace

int StartWinsock() {
  static const int result = [] {
    WSADATA data;
    const int error = WSAStartup(MAKEWORD(2, 2), &data);
    return error == 0 ? 0 : EIO;
  }();
  return result;
}

unsigned long BaseSocket(SOCKET socket, SOCKET* base) {
  DWORD bytes = 0;
  if (WSAIoctl(socket, SIO_BASE_HANDLE, nullptr, 0, base, sizeof *base, &bytes, nullptr, nullptr) != SOCKET_ERROR) {
    return 0;
  }
  // A provider that will not say (Wine answers some handles with other
  // errors): poll the socket itself, if it is one.
  int type = 0;
  int length = sizeof type;
  if (getsockopt(socket, SOL_SOCKET, SO_TYPE, reinterpret_cast<char*>(&type), &length) == SOCKET_ERROR) {
    return WSAENOTSOCK;
  }
  *base = socket;
  return 0;
}

Status IocpPort::Probe() {
  if (StartWinsock() != 0) return Status::Errno(EIO, "WSAStartup");
  HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 1);
  if (port == nullptr) return Status::Errno(EIO, "CreateIoCompletionPort");
  Status status = Status::Ok();
  OVERLAPPED_ENTRY entry;
  ULONG removed = 0;
  if (!PostQueuedCompletionStatus(port, 0, kKeyWake, nullptr)) {
    status = Status::Errno(EIO, "PostQueuedCompletionStatus");
  } else if (!GetQueuedCompletionStatusEx(port, &entry, 1, &removed, 0, FALSE) || removed != 1) {
    status = Status::Errno(EIO, "GetQueuedCompletionStatusEx");
  }
  CloseHandle(port);
  return status;
}

Status IocpPort::Open() {
  if (StartWinsock() != 0) return Status::Errno(EIO, "WSAStartup");
  port_ = CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 1);
  if (port_ == nullptr) return Status::Errno(EIO, "CreateIoCompletionPort");
  return Status::Ok();
}

Status IocpPort::Start(IocpOperation* op) {
  std::memset(&op->overlapped, 0, sizeof op->overlapped);
  const unsigned long error = StartOne(op);
  if (error == 0) return Status::Ok();
  // Failed at once: no packet comes from the kernel, so post one that
  // carries the error; it completes like any other.
  op->start_error = error;
  if (op->accepted != INVALID_SOCKET) {
    closesocket(op->accepted);
    op->accepted = INVALID_SOCKET;
  }
  if (!PostQueuedCompletionStatus(port_, 0, kKeyFailed, &op->overlapped)) {
    return Status::Errno(ENOMEM, "PostQueuedCompletionStatus");
  }
  return Status::Ok();
}

unsigned long IocpPort::OpenAfd() {
  if (afd_ != nullptr) return 0;
  if (!LoadNtFunctions()) return ERROR_PROC_NOT_FOUND;
  // Any name below \Device\Afd opens the driver; the tail only names the opener.
  static wchar_t path[] = L"\\Device\\Afd\\Evloop";
  UNICODE_STRING name;
  name.Buffer = path;
  name.Length = static_cast<USHORT>(sizeof path - sizeof path[0]);
  name.MaximumLength = static_cast<USHORT>(sizeof path);
  OBJECT_ATTRIBUTES attributes;
  InitializeObjectAttributes(&attributes, &name, 0, nullptr, nullptr);
  IO_STATUS_BLOCK status_block;
  HANDLE afd = nullptr;
  const NTSTATUS status = nt_create_file(&afd, SYNCHRONIZE, &attributes, &status_block, nullptr, 0,
                                         FILE_SHARE_READ | FILE_SHARE_WRITE, 1 /* FILE_OPEN */, 0, nullptr, 0);
  if (status != 0) return ErrorOfStatus(status);
  if (CreateIoCompletionPort(afd, port_, kKeyOperation, 0) == nullptr) {
    const unsigned long error = GetLastError();
    CloseHandle(afd);
    return error;
  }
  afd_ = afd;
  return 0;
}

unsigned long IocpPort::StartOne(IocpOperation* op) {
  if (op->kind == OpKind::kPoll) {
    const unsigned long error = OpenAfd();
    if (error != 0) return error;
    if (op->poll_socket == INVALID_SOCKET) return ERROR_INVALID_HANDLE;
    op->handle = reinterpret_cast<uintptr_t>(afd_);
    op->poll.timeout.QuadPart = INT64_MAX;
    op->poll.number_of_handles = 1;
    op->poll.exclusive = FALSE;
    op->poll.handles[0].handle = reinterpret_cast<HANDLE>(op->poll_socket);
    op->poll.handles[0].events = AfdEventsFor(op->wanted);
    op->poll.handles[0].status = 0;
    // The OVERLAPPED's first two fields are an IO_STATUS_BLOCK, and it is
    // the packet's lpOverlapped (the APC context), as for Winsock's calls.
    auto* status_block = reinterpret_cast<IO_STATUS_BLOCK*>(&op->overlapped);
    status_block->Status = kStatusPending;
    const NTSTATUS status = nt_device_io_control_file(afd_, nullptr, nullptr, &op->overlapped, status_block,
                                                      kIoctlAfdPoll, &op->poll, sizeof op->poll, &op->poll,
                                                      sizeof op->poll);
    // An error status means no packet; pending, success or a warning queue one.
    if ((static_cast<ULONG>(status) >> 30) == 3) return ErrorOfStatus(status);
    return 0;
  }
  const SOCKET socket = static_cast<SOCKET>(op->handle);
  // Associate the handle with this port. A handle is associated once for its
  // life; ERROR_INVALID_PARAMETER says it already is (with this port, as far
  // as evloop's use goes: see the README's note on one port per socket).
  if (CreateIoCompletionPort(reinterpret_cast<HANDLE>(op->handle), port_, kKeyOperation, 0) == nullptr) {
    const unsigned long error = GetLastError();
    if (error != ERROR_INVALID_PARAMETER) return error;
  }
  int result = 0;
  switch (op->kind) {
    case OpKind::kPoll:
      return 0;  // started above, before the socket's association
    case OpKind::kRecv:
      result = WSARecv(socket, &op->buffer, 1, nullptr, &op->flags, &op->overlapped, nullptr);
      break;
    case OpKind::kSend:
      result = WSASend(socket, &op->buffer, 1, nullptr, op->flags, &op->overlapped, nullptr);
      break;
    case OpKind::kRecvFrom:
      op->address_length = sizeof op->address;
      result = WSARecvFrom(socket, &op->buffer, 1, nullptr, &op->flags, reinterpret_cast<sockaddr*>(&op->address),
                           &op->address_length, &op->overlapped, nullptr);
      break;
    case OpKind::kSendTo:
      result = WSASendTo(socket, &op->buffer, 1, nullptr, op->flags, reinterpret_cast<const sockaddr*>(&op->address),
                         op->address_length, &op->overlapped, nullptr);
      break;
    case OpKind::kAccept: {
      unsigned long error = 0;
      {
        std::lock_guard<std::mutex> lock(extension_lock);
        if (accept_ex == nullptr) accept_ex = ExtensionFunction<LPFN_ACCEPTEX>(socket, WSAID_ACCEPTEX, &error);
      }
      if (accept_ex == nullptr) return error;
      const int family = SocketFamily(socket, &error);
      if (family < 0) return error;
      op->accepted = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
      if (op->accepted == INVALID_SOCKET) return WSAGetLastError();
      DWORD received = 0;
      const DWORD space = sizeof(sockaddr_storage) + 16;
      if (!accept_ex(socket, op->accepted, op->accept_space, 0, space, space, &received, &op->overlapped)) {
        error = WSAGetLastError();
        if (error != ERROR_IO_PENDING) return error;
      }
      return 0;
    }
    case OpKind::kRead:
    case OpKind::kWrite:
      // A failed start (the other end gone: ERROR_BROKEN_PIPE, ERROR_NO_DATA)
      // goes through the failure packet, where a read's EOF is a 0-byte read.
      return StartFileIo(op);
    case OpKind::kConnect: {
      unsigned long error = 0;
      {
        std::lock_guard<std::mutex> lock(extension_lock);
        if (connect_ex == nullptr) connect_ex = ExtensionFunction<LPFN_CONNECTEX>(socket, WSAID_CONNECTEX, &error);
      }
      if (connect_ex == nullptr) return error;
      // ConnectEx needs a bound socket: bind an unbound one to the wildcard
      // address of the destination's family, as connect() would.
      sockaddr_storage local{};
      int length = sizeof local;
      if (getsockname(socket, reinterpret_cast<sockaddr*>(&local), &length) == SOCKET_ERROR) {
        if (WSAGetLastError() != WSAEINVAL) return WSAGetLastError();
        sockaddr_storage wildcard{};
        wildcard.ss_family = op->address.ss_family;
        const int size = wildcard.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
        if (bind(socket, reinterpret_cast<const sockaddr*>(&wildcard), size) == SOCKET_ERROR) return WSAGetLastError();
      }
      if (!connect_ex(socket, reinterpret_cast<const sockaddr*>(&op->address), op->address_length, nullptr, 0, nullptr,
                      &op->overlapped)) {
        error = WSAGetLastError();
        if (error != ERROR_IO_PENDING) return AddressError(op, error);
      }
      return 0;
    }
    case OpKind::kTransmitFile: {
      unsigned long error = 0;
      {
        std::lock_guard<std::mutex> lock(extension_lock);
        if (transmit_file == nullptr) transmit_file = ExtensionFunction<LPFN_TRANSMITFILE>(socket, WSAID_TRANSMITFILE, &error);
      }
      if (transmit_file == nullptr) return error;
      // The file offset to start at goes in the OVERLAPPED.
      op->overlapped.Offset = static_cast<DWORD>(op->file_offset & 0xffffffffu);
      op->overlapped.OffsetHigh = static_cast<DWORD>(op->file_offset >> 32);
      if (!transmit_file(socket, op->file, op->transmit_count, 0, &op->overlapped, nullptr, 0)) {
        error = WSAGetLastError();
        if (error != ERROR_IO_PENDING) return error;
      }
      return 0;
    }
  }
  if (result == SOCKET_ERROR) {
    const unsigned long error = WSAGetLastError();
    // WSA_IO_PENDING: the packet comes later. WSAEMSGSIZE: a datagram was
    // truncated, a warning the packet reports too.
    if (error != WSA_IO_PENDING && error != WSAEMSGSIZE) return AddressError(op, error);
  }
  return 0;
}

void IocpPort::Cancel(IocpOperation* op) {
  // ERROR_NOT_FOUND: it finished first (or never started): its packet is
  // queued already either way.
  CancelIoEx(reinterpret_cast<HANDLE>(op->handle), &op->overlapped);
}

IocpCompletion IocpPort::Finish(IocpOperation* op, ULONG_PTR key, DWORD bytes) {
  IocpCompletion done{op, 0, 0};
  unsigned long error = 0;
  if (key == kKeyFailed) {
    error = op->start_error;
  } else {
    const LONG status = static_cast<LONG>(op->overlapped.Internal);
    if (status < 0 && !(status == kStatusBufferOverflow && IsReadKind(op->kind))) {
      error = RtlNtStatusToDosError(status);
      if (error == 0) error = ERROR_GEN_FAILURE;
    }
  }
  if (error != 0) {
    // A receive on a connection the peer ended reads as end of file.
    if (IsReadKind(op->kind) && (error == ERROR_HANDLE_EOF || error == ERROR_BROKEN_PIPE)) return done;
    done.error = op->kind == OpKind::kAccept ? AcceptError(error) : error;
    return done;
  }
  const SOCKET socket = static_cast<SOCKET>(op->handle);
  switch (op->kind) {
    case OpKind::kPoll: {
      if (op->poll.number_of_handles == 0) {
        done.result = op->wanted;
        return done;
      }
      const ULONG events = op->poll.handles[0].events;
      // The socket was closed while watched: as EBADF on a closed fd.
      if ((events & kAfdPollLocalClose) != 0) {
        done.error = ERROR_INVALID_HANDLE;
        return done;
      }
      done.result = ReadyEvents(events, op->wanted);
      return done;
    }
    case OpKind::kAccept: {
      const SOCKET accepted = op->accepted;
      u_long nonblocking = 1;
      int length = sizeof op->address;
      if (setsockopt(accepted, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, reinterpret_cast<const char*>(&socket),
                     sizeof socket) == SOCKET_ERROR ||
          ioctlsocket(accepted, FIONBIO, &nonblocking) == SOCKET_ERROR ||
          getpeername(accepted, reinterpret_cast<sockaddr*>(&op->address), &length) == SOCKET_ERROR) {
        // Reset between AcceptEx and here: gone before it could be used.
        done.error = AcceptError(WSAGetLastError());
        return done;
      }
      if (accepted > 0x7fffffff) {
        done.error = WSAEMFILE;
        return done;
      }
      op->address_length = length;
      op->handed_out = true;
      done.result = static_cast<int32_t>(accepted);
      return done;
    }
    case OpKind::kConnect:
      if (setsockopt(socket, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, nullptr, 0) == SOCKET_ERROR) {
        done.error = WSAGetLastError();
      }
      return done;
    default:
      done.result = static_cast<int32_t>(std::min<DWORD>(bytes, 0x7fffffff));
      return done;
  }
}

size_t IocpPort::Take(const OVERLAPPED_ENTRY* entries, ULONG count, IocpCompletion* out, size_t capacity) {
  size_t taken = 0;
  for (ULONG i = 0; i < count; i++) {
    const OVERLAPPED_ENTRY& entry = entries[i];
    if (entry.lpCompletionKey == kKeyWake || entry.lpOverlapped == nullptr) continue;
    IocpOperation* op = reinterpret_cast<IocpOperation*>(entry.lpOverlapped);
    const IocpCompletion done = Finish(op, entry.lpCompletionKey, entry.dwNumberOfBytesTransferred);
    if (taken < capacity) {
      out[taken++] = done;
    } else {
      std::lock_guard<std::mutex> lock(stash_lock_);
      stash_.push_back(done);
    }
  }
  return taken;
}

int IocpPort::Harvest(IocpCompletion* out, size_t capacity, int timeout_ms, Status* status) {
  size_t count = 0;
  {
    std::lock_guard<std::mutex> lock(stash_lock_);
    count = std::min(capacity, stash_.size());
    std::copy(stash_.begin(), stash_.begin() + count, out);
    stash_.erase(stash_.begin(), stash_.begin() + count);
  }
  OVERLAPPED_ENTRY entries[kBatch];
  const Deadline deadline = Deadline::In(count > 0 ? 0 : timeout_ms);
  bool wait = count == 0;
  while (count < capacity) {
    ULONG removed = 0;
    const ULONG want = static_cast<ULONG>(std::min(kBatch, capacity - count));
    const int left = wait ? deadline.RemainingMs() : 0;
    if (!GetQueuedCompletionStatusEx(port_, entries, want, &removed, left < 0 ? INFINITE : static_cast<DWORD>(left),
                                     FALSE)) {
      if (GetLastError() == WAIT_TIMEOUT) break;
      *status = Status::Errno(EIO, "GetQueuedCompletionStatusEx");
      return -1;
    }
    count += Take(entries, removed, out + count, capacity - count);
    if (count > 0) {
      // A full batch may mean more are queued: take them without waiting.
      if (removed < want) break;
      wait = false;
      continue;
    }
    // Only wake packets: wait on for the time left.
    if (left == 0) break;
  }
  return static_cast<int>(count);
}

WaitOutcome IocpPort::Snapshot::BlockUntilReady(HANDLE, const Deadline& deadline, int* error) {
  OVERLAPPED_ENTRY entries[64];
  ULONG removed = 0;
  const int wait = deadline.RemainingMs();
  if (!GetQueuedCompletionStatusEx(port_->port_, entries, 64, &removed, wait < 0 ? INFINITE : static_cast<DWORD>(wait),
                                   FALSE)) {
    if (GetLastError() == WAIT_TIMEOUT) return WaitOutcome::kTimedOut;
    *error = EIO;
    return WaitOutcome::kFailed;
  }
  bool woken = false;
  size_t real = 0;
  for (ULONG i = 0; i < removed; i++) {
    if (entries[i].lpCompletionKey == kKeyWake || entries[i].lpOverlapped == nullptr) {
      woken = true;
      continue;
    }
    IocpOperation* op = reinterpret_cast<IocpOperation*>(entries[i].lpOverlapped);
    const IocpCompletion done = port_->Finish(op, entries[i].lpCompletionKey, entries[i].dwNumberOfBytesTransferred);
    std::lock_guard<std::mutex> lock(port_->stash_lock_);
    port_->stash_.push_back(done);
    real++;
  }
  if (real > 0) return WaitOutcome::kReady;
  return woken ? WaitOutcome::kWoken : WaitOutcome::kReady;
}

void IocpPort::Release(IocpOperation* op) {
  if (op->accepted != INVALID_SOCKET && !op->handed_out) closesocket(op->accepted);
  delete op;
}

void IocpPort::Close() {
  if (port_ == nullptr) return;
  if (afd_ != nullptr) {
    CloseHandle(afd_);
    afd_ = nullptr;
  }
  CloseHandle(port_);
  port_ = nullptr;
  std::lock_guard<std::mutex> lock(stash_lock_);
  // Harvested by the helper thread but never by JavaScript: a connection
  // accepted then reaches nobody, so it is closed with its operation.
  for (const IocpCompletion& done : stash_) {
    done.operation->handed_out = false;
    Release(done.operation);
  }
  stash_.clear();
}

bool EncodeAddress(int family, const char* host, int port, uint32_t flowinfo, uint32_t scope_id,
                   sockaddr_storage* out, int* length) {
  std::memset(out, 0, sizeof *out);
  if (family == AF_INET6) {
    auto* address = reinterpret_cast<sockaddr_in6*>(out);
    address->sin6_family = AF_INET6;
    address->sin6_port = htons(static_cast<u_short>(port));
    address->sin6_flowinfo = htonl(flowinfo);
    address->sin6_scope_id = scope_id;
    if (host[0] != '\0' && inet_pton(AF_INET6, host, &address->sin6_addr) != 1) return false;
    *length = sizeof(sockaddr_in6);
    return true;
  }
  if (family != AF_INET) return false;
  auto* address = reinterpret_cast<sockaddr_in*>(out);
  address->sin_family = AF_INET;
  address->sin_port = htons(static_cast<u_short>(port));
  if (host[0] != '\0' && inet_pton(AF_INET, host, &address->sin_addr) != 1) return false;
  *length = sizeof(sockaddr_in);
  return true;
}

bool DecodeAddress(const sockaddr_storage& address, DecodedAddress* out) {
  out->family = address.ss_family;
  out->flowinfo = 0;
  out->scope_id = 0;
  if (address.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&address);
    if (inet_ntop(AF_INET, &in->sin_addr, out->host, sizeof out->host) == nullptr) return false;
    out->port = ntohs(in->sin_port);
    return true;
  }
  if (address.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address);
    if (inet_ntop(AF_INET6, &in6->sin6_addr, out->host, sizeof out->host) == nullptr) return false;
    out->port = ntohs(in6->sin6_port);
    out->flowinfo = ntohl(in6->sin6_flowinfo);
    out->scope_id = in6->sin6_scope_id;
    return true;
  }
  return false;
}

int SocketFamily(SOCKET socket, unsigned long* error) {
  WSAPROTOCOL_INFOW info;
  int length = sizeof info;
  if (getsockopt(socket, SOL_SOCKET, SO_PROTOCOL_INFOW, reinterpret_cast<char*>(&info), &length) == SOCKET_ERROR) {
    *error = WSAGetLastError();
    return -1;
  }
  return info.iAddressFamily;
}

}  // namespace evloop
