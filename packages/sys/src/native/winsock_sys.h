// Winsock socket calls for @evloop/sys on Windows, behind the same JS API as
// posix_sys.h. No Node-API types here: each function returns -1 (or
// INVALID_SOCKET) on failure with the Winsock error left in *error, already
// mapped to its POSIX errno (evloop/errors.h's one table).
// A SOCKET handle is the "fd" JavaScript sees.
#ifndef EVLOOP_SYS_WINSOCK_SYS_H_
#define EVLOOP_SYS_WINSOCK_SYS_H_

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <ws2tcpip.h>

#include <stddef.h>
#include <stdint.h>

namespace evloop_sys {

struct SockAddr {
  sockaddr_storage storage;
  int length;
};

enum class AddressStatus { kOk = 0, kBadFamily, kNotNumericHost, kBadPort, kBadScope };

struct DecodedAddress {
  int family;
  char host[64];
  int port;
  uint32_t flowinfo;
  uint32_t scope_id;
};

// Starts Winsock once per process (WSAStartup 2.2); 0 or an errno.
int StartWinsock();

AddressStatus MakeInetAddress(int family, const char* host, int port, uint32_t flowinfo, uint32_t scope_id,
                              SockAddr* out);
bool DecodeAddress(const SockAddr& address, DecodedAddress* out);

// Results are SOCKETs as integers, or -1 with *error set.
int64_t MakeSocket(int family, int type, int protocol, bool nonblocking, int* error);
// A connected pair over loopback (Windows has no socketpair): a listener on
// 127.0.0.1 (::1 for AF_INET6) port 0, connect, accept, and a check that the
// accepted peer is our own connecting socket. SOCK_STREAM only.
int MakeSocketPair(int family, int type, int protocol, bool nonblocking, int64_t out[2], int* error);
int64_t DupSocket(int64_t fd, int* error);
int CloseSocket(int64_t fd, int* error);
int SetBlocking(int64_t fd, bool blocking, int* error);
// Winsock cannot report a socket's mode: this answers what evloop last set
// (1 blocking, 0 non-blocking); sockets it never changed are blocking.
int GetBlocking(int64_t fd, int* error);
int SetInheritable(int64_t fd, bool inheritable, int* error);
int GetInheritable(int64_t fd, int* error);

int BindSocket(int64_t fd, const SockAddr& address, int* error);
int ListenSocket(int64_t fd, int backlog, int* error);
int64_t AcceptSocket(int64_t fd, bool nonblocking, SockAddr* peer, int* error);
// 0, or -1 with EINPROGRESS for a non-blocking connect under way (as POSIX).
int ConnectSocket(int64_t fd, const SockAddr& address, int* error);
int64_t SendSocket(int64_t fd, const void* buffer, size_t length, int flags, int* error);
int64_t RecvSocket(int64_t fd, void* buffer, size_t length, int flags, int* error);
int64_t SendToSocket(int64_t fd, const void* buffer, size_t length, int flags, const SockAddr& address, int* error);
// A datagram larger than the buffer is truncated to it, as on POSIX (Winsock
// reports WSAEMSGSIZE for that).
int64_t RecvFromSocket(int64_t fd, void* buffer, size_t length, int flags, SockAddr* from, int* error);
int ShutdownSocket(int64_t fd, int how, int* error);
int GetSockName(int64_t fd, SockAddr* out, int* error);
int GetPeerName(int64_t fd, SockAddr* out, int* error);
int SetSockOpt(int64_t fd, int level, int name, const void* value, int length, int* error);
int GetSockOpt(int64_t fd, int level, int name, void* value, int* length, int* error);
int SocketInfo(int64_t fd, int* family, int* type, int* protocol, int* error);

}  // namespace evloop_sys

#endif  // EVLOOP_SYS_WINSOCK_SYS_H_
