// POSIX socket, pipe and fd syscalls for @evloop/sys. No Node-API types here:
// every function returns -1 (or a negative status) with errno set on failure,
// and retries EINTR itself so that EINTR never reaches JavaScript.
#ifndef EVLOOP_SYS_POSIX_SYS_H_
#define EVLOOP_SYS_POSIX_SYS_H_

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <vector>

#include "evloop/sendfile.h"

namespace evloop_sys {

// A socket address of any family with its length.
struct SockAddr {
  sockaddr_storage storage;
  socklen_t length;
};

// Why building an address from arguments failed (the glue turns these into
// TypeError/RangeError; they are argument errors, not OS errors).
enum class AddressStatus {
  kOk = 0,
  kBadFamily,
  kNotNumericHost,
  kBadPort,
  kPathTooLong,
  kEmbeddedNul,
  kBadScope,
};

// A decoded address: for AF_INET/AF_INET6 `host`, `port`, `flowinfo` and
// `scope_id`; for AF_UNIX `path`/`path_length` (which point into the SockAddr
// it was decoded from; an abstract name starts with a NUL byte).
struct DecodedAddress {
  int family;
  char host[64];
  int port;
  uint32_t flowinfo;
  uint32_t scope_id;
  const char* path;
  size_t path_length;
};

// One ancillary data item (a cmsghdr), pointing at its data.
struct Ancillary {
  int level;
  int type;
  const uint8_t* data;
  size_t length;
};

AddressStatus MakeInetAddress(int family, const char* host, int port, uint32_t flowinfo,
                              uint32_t scope_id, SockAddr* out);
AddressStatus MakeUnixAddress(const char* path, size_t length, SockAddr* out);
// Returns false for a family it cannot decode (the glue then reports the family number only).
bool DecodeAddress(const SockAddr& address, DecodedAddress* out);
// Largest Unix path accepted: sizeof(sun_path) - 1 for a filesystem path
// (room for the NUL), sizeof(sun_path) for a Linux abstract name.
size_t MaxUnixPathLength(bool abstract_name);

int MakePipe(int fds[2], bool nonblocking);
// A pseudo-terminal pair: fds[0] the master, fds[1] the slave, both close-on-exec.
int OpenPty(int fds[2]);
int MakeSocket(int family, int type, int protocol, bool nonblocking);
int MakeSocketPair(int family, int type, int protocol, bool nonblocking, int fds[2]);
ssize_t ReadFd(int fd, void* buffer, size_t length);
ssize_t WriteFd(int fd, const void* buffer, size_t length);
int CloseFd(int fd);
// SendFile and kMaxSendfileStep: evloop/sendfile.h (@evloop/native-core).
using evloop::SendFile;
using evloop::kMaxSendfileStep;
int DupFd(int fd);
int SetBlocking(int fd, bool blocking);
// 1 when blocking, 0 when non-blocking, -1 on error.
int GetBlocking(int fd);
int SetInheritable(int fd, bool inheritable);
int GetInheritable(int fd);

int BindFd(int fd, const SockAddr& address);
int ListenFd(int fd, int backlog);
// Returns the new fd (close-on-exec; non-blocking when asked), fills `peer`.
int AcceptFd(int fd, bool nonblocking, SockAddr* peer);
int ConnectFd(int fd, const SockAddr& address);
ssize_t SendFd(int fd, const void* buffer, size_t length, int flags);
ssize_t RecvFd(int fd, void* buffer, size_t length, int flags);
ssize_t SendToFd(int fd, const void* buffer, size_t length, int flags, const SockAddr& address);
ssize_t RecvFromFd(int fd, void* buffer, size_t length, int flags, SockAddr* from);
int ShutdownFd(int fd, int how);
int GetSockName(int fd, SockAddr* out);
int GetPeerName(int fd, SockAddr* out);
int SetSockOpt(int fd, int level, int name, const void* value, socklen_t length);
int GetSockOpt(int fd, int level, int name, void* value, socklen_t* length);
// family, type and protocol of an open socket (protocol is 0 where the
// platform cannot tell).
int SocketInfo(int fd, int* family, int* type, int* protocol);

// CMSG_SPACE / CMSG_LEN for `length` bytes of data.
size_t ControlSpace(size_t length);
size_t ControlLength(size_t length);
// Lay out ancillary items as a control buffer for sendmsg.
void BuildControl(const Ancillary* items, size_t count, std::vector<uint8_t>* out);
// Walk a control buffer filled by recvmsg (bounded by `length`).
void ParseControl(const uint8_t* control, size_t length, std::vector<Ancillary>* out);
// `address` may be null. Adds MSG_NOSIGNAL where the platform has it.
ssize_t SendMsgFd(int fd, const iovec* buffers, size_t buffer_count, const uint8_t* control,
                  size_t control_length, int flags, const SockAddr* address);
// `control_length` is in/out. Received fds are close-on-exec.
ssize_t RecvMsgFd(int fd, iovec* buffers, size_t buffer_count, uint8_t* control,
                  size_t* control_length, int flags, SockAddr* from, int* message_flags);

}  // namespace evloop_sys

#endif  // EVLOOP_SYS_POSIX_SYS_H_
