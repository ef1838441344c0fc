// Winsock calls for @evloop/sys (see winsock_sys.h).
#include "winsock_sys.h"

#include <mswsock.h>
#include <windows.h>

#include <cstring>
#include <mutex>
#include <unordered_set>

#include "evloop/errors.h"

namespace evloop_sys {

namespace {

SOCKET S(int64_t fd) { return static_cast<SOCKET>(fd); }

// Fails with the thread's last Winsock error, mapped to its errno.
int Fail(int* error) {
  *error = evloop::ErrnoFromWin32(static_cast<unsigned long>(WSAGetLastError()));
  return -1;
}

// The sockets evloop made non-blocking (Winsock keeps no readable flag).
std::mutex mode_mutex;
std::unordered_set<SOCKET>& NonBlocking() {
  static std::unordered_set<SOCKET> sockets;
  return sockets;
}

void RememberMode(SOCKET socket, bool nonblocking) {
  std::lock_guard<std::mutex> lock(mode_mutex);
  if (nonblocking) {
    NonBlocking().insert(socket);
  } else {
    NonBlocking().erase(socket);
  }
}

int SetMode(SOCKET socket, bool nonblocking, int* error) {
  u_long argument = nonblocking ? 1 : 0;
  if (ioctlsocket(socket, FIONBIO, &argument) == SOCKET_ERROR) return Fail(error);
  RememberMode(socket, nonblocking);
  return 0;
}

}  // namespace

int StartWinsock() {
  static int result = [] {
    WSADATA data;
    const int status = WSAStartup(MAKEWORD(2, 2), &data);
    return status == 0 ? 0 : evloop::ErrnoFromWin32(static_cast<unsigned long>(status));
  }();
  return result;
}

AddressStatus MakeInetAddress(int family, const char* host, int port, uint32_t flowinfo, uint32_t scope_id,
                              SockAddr* out) {
  std::memset(out, 0, sizeof(*out));
  if (port < 0 || port > 65535) return AddressStatus::kBadPort;
  if (family == AF_INET) {
    auto* address = reinterpret_cast<sockaddr_in*>(&out->storage);
    address->sin_family = AF_INET;
    address->sin_port = htons(static_cast<u_short>(port));
    if (host[0] != '\0' && inet_pton(AF_INET, host, &address->sin_addr) != 1) return AddressStatus::kNotNumericHost;
    out->length = sizeof(sockaddr_in);
    return AddressStatus::kOk;
  }
  if (family == AF_INET6) {
    auto* address = reinterpret_cast<sockaddr_in6*>(&out->storage);
    address->sin6_family = AF_INET6;
    address->sin6_port = htons(static_cast<u_short>(port));
    address->sin6_flowinfo = htonl(flowinfo);
    address->sin6_scope_id = scope_id;
    if (host[0] != '\0') {
      // "fe80::1%5": a numeric scope after '%' (interface names need a lookup Windows only offers by index).
      char copy[64];
      const size_t length = std::strlen(host);
      if (length >= sizeof copy) return AddressStatus::kNotNumericHost;
      std::memcpy(copy, host, length + 1);
      char* percent = std::strchr(copy, '%');
      if (percent != nullptr) {
        *percent = '\0';
        char* end = nullptr;
        const unsigned long scope = std::strtoul(percent + 1, &end, 10);
        if (percent[1] == '\0' || *end != '\0') return AddressStatus::kBadScope;
        address->sin6_scope_id = static_cast<ULONG>(scope);
      }
      if (inet_pton(AF_INET6, copy, &address->sin6_addr) != 1) return AddressStatus::kNotNumericHost;
    }
    out->length = sizeof(sockaddr_in6);
    return AddressStatus::kOk;
  }
  return AddressStatus::kBadFamily;
}

bool DecodeAddress(const SockAddr& address, DecodedAddress* out) {
  std::memset(out, 0, sizeof(*out));
  if (address.length == 0) {
    out->family = AF_UNSPEC;
    return true;
  }
  out->family = address.storage.ss_family;
  if (out->family == AF_INET) {
    const auto* inet = reinterpret_cast<const sockaddr_in*>(&address.storage);
    inet_ntop(AF_INET, &inet->sin_addr, out->host, sizeof out->host);
    out->port = ntohs(inet->sin_port);
    return true;
  }
  if (out->family == AF_INET6) {
    const auto* inet6 = reinterpret_cast<const sockaddr_in6*>(&address.storage);
    inet_ntop(AF_INET6, &inet6->sin6_addr, out->host, sizeof out->host);
    out->port = ntohs(inet6->sin6_port);
    out->flowinfo = ntohl(inet6->sin6_flowinfo);
    out->scope_id = inet6->sin6_scope_id;
    return true;
  }
  if (out->family == AF_UNSPEC) return true;
  return false;
}

int64_t MakeSocket(int family, int type, int protocol, bool nonblocking, int* error) {
  SOCKET socket = WSASocketW(family, type, protocol, nullptr, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (socket == INVALID_SOCKET) return Fail(error);
  if (nonblocking && SetMode(socket, true, error) == -1) {
    closesocket(socket);
    return -1;
  }
  return static_cast<int64_t>(socket);
}

int MakeSocketPair(int family, int type, int protocol, bool nonblocking, int64_t out[2], int* error) {
  if (family != AF_INET && family != AF_INET6) {
    *error = EAFNOSUPPORT;
    return -1;
  }
  if (type != SOCK_STREAM) {
    *error = EOPNOTSUPP;
    return -1;
  }
  SockAddr loopback;
  MakeInetAddress(family, family == AF_INET ? "127.0.0.1" : "::1", 0, 0, 0, &loopback);
  SOCKET listener = INVALID_SOCKET, client = INVALID_SOCKET, server = INVALID_SOCKET;
  SockAddr bound, client_name, server_peer;
  bound.length = client_name.length = server_peer.length = sizeof(sockaddr_storage);
  auto give_up = [&]() {
    *error = evloop::ErrnoFromWin32(static_cast<unsigned long>(WSAGetLastError()));
    if (listener != INVALID_SOCKET) closesocket(listener);
    if (client != INVALID_SOCKET) closesocket(client);
    if (server != INVALID_SOCKET) closesocket(server);
    return -1;
  };
  listener = WSASocketW(family, type, protocol, nullptr, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (listener == INVALID_SOCKET) return give_up();
  BOOL exclusive = TRUE;
  setsockopt(listener, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, reinterpret_cast<const char*>(&exclusive), sizeof exclusive);
  if (bind(listener, reinterpret_cast<const sockaddr*>(&loopback.storage), loopback.length) == SOCKET_ERROR ||
      listen(listener, 1) == SOCKET_ERROR ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&bound.storage), &bound.length) == SOCKET_ERROR) {
    return give_up();
  }
  client = WSASocketW(family, type, protocol, nullptr, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (client == INVALID_SOCKET) return give_up();
  // Blocking connect: the listener's backlog completes it at once on loopback.
  if (connect(client, reinterpret_cast<const sockaddr*>(&bound.storage), bound.length) == SOCKET_ERROR ||
      getsockname(client, reinterpret_cast<sockaddr*>(&client_name.storage), &client_name.length) == SOCKET_ERROR) {
    return give_up();
  }
  server = accept(listener, reinterpret_cast<sockaddr*>(&server_peer.storage), &server_peer.length);
  if (server == INVALID_SOCKET) return give_up();
  // Another local process could have connected first: the accepted peer must be our client.
  if (server_peer.length != client_name.length ||
      std::memcmp(&server_peer.storage, &client_name.storage, static_cast<size_t>(client_name.length)) != 0) {
    WSASetLastError(WSAECONNABORTED);
    return give_up();
  }
  closesocket(listener);
  listener = INVALID_SOCKET;
  SetHandleInformation(reinterpret_cast<HANDLE>(server), HANDLE_FLAG_INHERIT, 0);
  if (nonblocking && (SetMode(server, true, error) == -1 || SetMode(client, true, error) == -1)) {
    closesocket(server);
    closesocket(client);
    return -1;
  }
  out[0] = static_cast<int64_t>(server);
  out[1] = static_cast<int64_t>(client);
  return 0;
}

int64_t DupSocket(int64_t fd, int* error) {
  WSAPROTOCOL_INFOW info;
  if (WSADuplicateSocketW(S(fd), GetCurrentProcessId(), &info) == SOCKET_ERROR) return Fail(error);
  SOCKET copy = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0,
                           WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (copy == INVALID_SOCKET) return Fail(error);
  return static_cast<int64_t>(copy);
}

int CloseSocket(int64_t fd, int* error) {
  if (closesocket(S(fd)) == SOCKET_ERROR) return Fail(error);
  RememberMode(S(fd), false);
  return 0;
}

int SetBlocking(int64_t fd, bool blocking, int* error) { return SetMode(S(fd), !blocking, error); }

int GetBlocking(int64_t fd, int* error) {
  // A cheap call that fails on a handle that is not a socket.
  int type = 0, length = sizeof type;
  if (getsockopt(S(fd), SOL_SOCKET, SO_TYPE, reinterpret_cast<char*>(&type), &length) == SOCKET_ERROR) return Fail(error);
  std::lock_guard<std::mutex> lock(mode_mutex);
  return NonBlocking().count(S(fd)) != 0 ? 0 : 1;
}

int SetInheritable(int64_t fd, bool inheritable, int* error) {
  if (!SetHandleInformation(reinterpret_cast<HANDLE>(S(fd)), HANDLE_FLAG_INHERIT, inheritable ? HANDLE_FLAG_INHERIT : 0)) {
    *error = evloop::ErrnoFromWin32(GetLastError());
    return -1;
  }
  return 0;
}

int GetInheritable(int64_t fd, int* error) {
  DWORD flags = 0;
  if (!GetHandleInformation(reinterpret_cast<HANDLE>(S(fd)), &flags)) {
    *error = evloop::ErrnoFromWin32(GetLastError());
    return -1;
  }
  return (flags & HANDLE_FLAG_INHERIT) != 0 ? 1 : 0;
}

int BindSocket(int64_t fd, const SockAddr& address, int* error) {
  if (bind(S(fd), reinterpret_cast<const sockaddr*>(&address.storage), address.length) == SOCKET_ERROR) return Fail(error);
  return 0;
}

int ListenSocket(int64_t fd, int backlog, int* error) {
  if (listen(S(fd), backlog) == SOCKET_ERROR) return Fail(error);
  return 0;
}

int64_t AcceptSocket(int64_t fd, bool nonblocking, SockAddr* peer, int* error) {
  peer->length = sizeof(peer->storage);
  SOCKET client = accept(S(fd), reinterpret_cast<sockaddr*>(&peer->storage), &peer->length);
  if (client == INVALID_SOCKET) {
    const int code = WSAGetLastError();
    // A connection reset before it was taken (Windows: WSAECONNRESET; Wine:
    // WSAENOTCONN) is gone: POSIX's ECONNABORTED, which the loops skip.
    if (code == WSAECONNRESET || code == WSAENOTCONN) {
      *error = ECONNABORTED;
      return -1;
    }
    return Fail(error);
  }
  SetHandleInformation(reinterpret_cast<HANDLE>(client), HANDLE_FLAG_INHERIT, 0);
  // An accepted socket inherits the listener's mode on Windows: set the one asked for.
  if (SetMode(client, nonblocking, error) == -1) {
    closesocket(client);
    return -1;
  }
  return static_cast<int64_t>(client);
}

int ConnectSocket(int64_t fd, const SockAddr& address, int* error) {
  if (connect(S(fd), reinterpret_cast<const sockaddr*>(&address.storage), address.length) == SOCKET_ERROR) {
    const int code = WSAGetLastError();
    *error = code == WSAEWOULDBLOCK ? EINPROGRESS : evloop::ErrnoFromWin32(static_cast<unsigned long>(code));
    return -1;
  }
  return 0;
}

namespace {
int Clamp(size_t length) { return length > 0x7fffffff ? 0x7fffffff : static_cast<int>(length); }
}  // namespace

int64_t SendSocket(int64_t fd, const void* buffer, size_t length, int flags, int* error) {
  const int sent = send(S(fd), static_cast<const char*>(buffer), Clamp(length), flags);
  if (sent == SOCKET_ERROR) return Fail(error);
  return sent;
}

int64_t RecvSocket(int64_t fd, void* buffer, size_t length, int flags, int* error) {
  const int got = recv(S(fd), static_cast<char*>(buffer), Clamp(length), flags);
  if (got == SOCKET_ERROR) {
    if (WSAGetLastError() == WSAEMSGSIZE) return Clamp(length);
    return Fail(error);
  }
  return got;
}

int64_t SendToSocket(int64_t fd, const void* buffer, size_t length, int flags, const SockAddr& address, int* error) {
  const int sent = sendto(S(fd), static_cast<const char*>(buffer), Clamp(length), flags,
                          reinterpret_cast<const sockaddr*>(&address.storage), address.length);
  if (sent == SOCKET_ERROR) return Fail(error);
  return sent;
}

int64_t RecvFromSocket(int64_t fd, void* buffer, size_t length, int flags, SockAddr* from, int* error) {
  from->length = sizeof(from->storage);
  std::memset(&from->storage, 0, sizeof(from->storage));
  const int got = recvfrom(S(fd), static_cast<char*>(buffer), Clamp(length), flags,
                           reinterpret_cast<sockaddr*>(&from->storage), &from->length);
  if (got == SOCKET_ERROR) {
    if (WSAGetLastError() == WSAEMSGSIZE) return Clamp(length);
    return Fail(error);
  }
  // A connection-oriented socket leaves the address untouched.
  if (from->storage.ss_family == AF_UNSPEC) from->length = 0;
  return got;
}

int ShutdownSocket(int64_t fd, int how, int* error) {
  if (shutdown(S(fd), how) == SOCKET_ERROR) return Fail(error);
  return 0;
}

int GetSockName(int64_t fd, SockAddr* out, int* error) {
  out->length = sizeof(out->storage);
  std::memset(&out->storage, 0, sizeof(out->storage));
  if (getsockname(S(fd), reinterpret_cast<sockaddr*>(&out->storage), &out->length) == SOCKET_ERROR) {
    // An unbound socket: POSIX answers the family's any-address, Winsock fails with WSAEINVAL.
    if (WSAGetLastError() == WSAEINVAL) {
      WSAPROTOCOL_INFOW info;
      int length = sizeof info;
      if (getsockopt(S(fd), SOL_SOCKET, SO_PROTOCOL_INFOW, reinterpret_cast<char*>(&info), &length) == 0) {
        std::memset(&out->storage, 0, sizeof(out->storage));
        out->storage.ss_family = static_cast<ADDRESS_FAMILY>(info.iAddressFamily);
        out->length = info.iAddressFamily == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
        return 0;
      }
    }
    return Fail(error);
  }
  return 0;
}

int GetPeerName(int64_t fd, SockAddr* out, int* error) {
  out->length = sizeof(out->storage);
  if (getpeername(S(fd), reinterpret_cast<sockaddr*>(&out->storage), &out->length) == SOCKET_ERROR) return Fail(error);
  return 0;
}

int SetSockOpt(int64_t fd, int level, int name, const void* value, int length, int* error) {
  if (setsockopt(S(fd), level, name, static_cast<const char*>(value), length) == SOCKET_ERROR) return Fail(error);
  return 0;
}

int GetSockOpt(int64_t fd, int level, int name, void* value, int* length, int* error) {
  if (getsockopt(S(fd), level, name, static_cast<char*>(value), length) == SOCKET_ERROR) return Fail(error);
  return 0;
}

int SocketInfo(int64_t fd, int* family, int* type, int* protocol, int* error) {
  WSAPROTOCOL_INFOW info;
  int length = sizeof info;
  if (getsockopt(S(fd), SOL_SOCKET, SO_PROTOCOL_INFOW, reinterpret_cast<char*>(&info), &length) == SOCKET_ERROR) {
    return Fail(error);
  }
  *family = info.iAddressFamily;
  *type = info.iSocketType;
  *protocol = info.iProtocol;
  return 0;
}

}  // namespace evloop_sys
