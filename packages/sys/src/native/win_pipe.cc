// Named pipes on Windows (see win_pipe.h).
#include "win_pipe.h"

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <windows.h>

#include "evloop/errors.h"
#include "winsock_sys.h"

#ifndef PIPE_REJECT_REMOTE_CLIENTS
#define PIPE_REJECT_REMOTE_CLIENTS 0x00000008
#endif

namespace evloop_sys {

namespace {

constexpr DWORD kPipeBufferSize = 64 * 1024;

int FailWin32(unsigned long win32, int* error) {
  *error = evloop::ErrnoFromWin32(win32);
  return -1;
}

HANDLE H(int64_t fd) { return reinterpret_cast<HANDLE>(static_cast<intptr_t>(fd)); }

}  // namespace

int64_t CreatePipeServer(const wchar_t* name, int mode, int* error) {
  const DWORD access = mode == 1 ? PIPE_ACCESS_INBOUND : mode == 2 ? PIPE_ACCESS_OUTBOUND : PIPE_ACCESS_DUPLEX;
  const DWORD open_mode = access | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE;
  const DWORD pipe_mode = PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS;
  HANDLE handle = CreateNamedPipeW(name, open_mode, pipe_mode, 1, kPipeBufferSize, kPipeBufferSize, 0, nullptr);
  if (handle == INVALID_HANDLE_VALUE) return FailWin32(GetLastError(), error);
  return static_cast<int64_t>(reinterpret_cast<intptr_t>(handle));
}

int64_t OpenPipeClient(const wchar_t* name, bool write, int* error) {
  HANDLE handle = CreateFileW(name, write ? GENERIC_WRITE : GENERIC_READ, 0, nullptr, OPEN_EXISTING,
                              FILE_FLAG_OVERLAPPED, nullptr);
  if (handle == INVALID_HANDLE_VALUE) return FailWin32(GetLastError(), error);
  return static_cast<int64_t>(reinterpret_cast<intptr_t>(handle));
}

int ConnectPipeServer(int64_t fd, int* error) {
  OVERLAPPED overlapped{};
  overlapped.hEvent = CreateEventW(nullptr, TRUE, FALSE, nullptr);
  if (overlapped.hEvent == nullptr) return FailWin32(GetLastError(), error);
  int result = 0;
  if (!ConnectNamedPipe(H(fd), &overlapped)) {
    const unsigned long failure = GetLastError();
    if (failure == ERROR_IO_PENDING) {
      // No client yet: give up rather than wait.
      DWORD ignored = 0;
      CancelIoEx(H(fd), &overlapped);
      GetOverlappedResult(H(fd), &overlapped, &ignored, TRUE);
      *error = ENOTCONN;
      result = -1;
    } else if (failure != ERROR_PIPE_CONNECTED) {
      result = FailWin32(failure, error);
    }
  }
  CloseHandle(overlapped.hEvent);
  return result;
}

int CloseSocketOrHandle(int64_t fd, int* error, const char** syscall) {
  // A cheap call that tells a socket from any other handle.
  int type = 0, length = sizeof type;
  *syscall = "closesocket";
  if (getsockopt(static_cast<SOCKET>(fd), SOL_SOCKET, SO_TYPE, reinterpret_cast<char*>(&type), &length) == 0) {
    return CloseSocket(fd, error);
  }
  *syscall = "CloseHandle";
  if (!CloseHandle(H(fd))) return FailWin32(GetLastError(), error);
  return 0;
}

int HandleFileType(int64_t fd, int* error) {
  const DWORD type = GetFileType(H(fd));
  if (type == FILE_TYPE_UNKNOWN) {
    const unsigned long failure = GetLastError();
    if (failure != NO_ERROR) return FailWin32(failure, error);
  }
  return static_cast<int>(type);
}

}  // namespace evloop_sys
