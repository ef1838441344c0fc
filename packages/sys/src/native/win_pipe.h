// Named pipes and HANDLE calls for @evloop/sys on Windows (what asyncio's
// windows_utils.pipe does). No Node-API types here: each function returns -1
// on failure with the Win32 error, mapped to its POSIX errno
// (evloop/errors.h's one table), in *error. A HANDLE is the "fd" JavaScript
// sees, as a SOCKET is.
#ifndef EVLOOP_SYS_WIN_PIPE_H_
#define EVLOOP_SYS_WIN_PIPE_H_

#include <stdint.h>

namespace evloop_sys {

// The server end of a new one-instance byte-mode named pipe, overlapped,
// not inheritable, local clients only. `mode`: 1 the server reads (the
// client writes), 2 the server writes, 3 both.
int64_t CreatePipeServer(const wchar_t* name, int mode, int* error);
// A client end of pipe `name`, overlapped, not inheritable.
int64_t OpenPipeClient(const wchar_t* name, bool write, int* error);
// Waits (without blocking: the client has opened already) for the server
// end to be connected; -1 with ENOTCONN when no client is there.
int ConnectPipeServer(int64_t handle, int* error);
// Closes a socket with closesocket and any other handle with CloseHandle;
// *syscall names the one that ran.
int CloseSocketOrHandle(int64_t fd, int* error, const char** syscall);
// GetFileType: 1 disk, 2 character, 3 pipe (sockets too), 0 unknown.
int HandleFileType(int64_t fd, int* error);

}  // namespace evloop_sys

#endif  // EVLOOP_SYS_WIN_PIPE_H_
