// POSIX only: on Windows addon.cc exports only unsupportedReason.
#include "evloop/platform.h"

#if defined(EVLOOP_HAS_POSIX)

#include "posix_sys.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

namespace evloop_sys {

namespace {

#ifdef MSG_NOSIGNAL
constexpr int kNoSignal = MSG_NOSIGNAL;
#else
constexpr int kNoSignal = 0;
#endif

[[maybe_unused]] int AddFlags(int fd, bool nonblocking) {
  int fd_flags = fcntl(fd, F_GETFD);
  if (fd_flags == -1 || fcntl(fd, F_SETFD, fd_flags | FD_CLOEXEC) == -1) return -1;
  if (nonblocking) return SetBlocking(fd, false);
  return 0;
}

// Where there is no MSG_NOSIGNAL (macOS), a socket asks not to raise SIGPIPE.
void NoSigPipe(int fd) {
#if defined(SO_NOSIGPIPE)
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof(on));
#else
  (void)fd;
#endif
}

[[maybe_unused]] void CloseKeepErrno(int fd) {
  int saved = errno;
  close(fd);
  errno = saved;
}

}  // namespace

AddressStatus MakeInetAddress(int family, const char* host, int port, uint32_t flowinfo,
                              uint32_t scope_id, SockAddr* out) {
  if (port < 0 || port > 65535) return AddressStatus::kBadPort;
  memset(out, 0, sizeof(*out));
  if (family == AF_INET) {
    sockaddr_in* in4 = reinterpret_cast<sockaddr_in*>(&out->storage);
    in4->sin_family = AF_INET;
    in4->sin_port = htons(static_cast<uint16_t>(port));
#ifdef SIN6_LEN
    in4->sin_len = sizeof(sockaddr_in);
#endif
    if (host[0] == '\0') {
      in4->sin_addr.s_addr = htonl(INADDR_ANY);
    } else if (strcmp(host, "<broadcast>") == 0) {
      in4->sin_addr.s_addr = htonl(INADDR_BROADCAST);
    } else if (inet_pton(AF_INET, host, &in4->sin_addr) != 1) {
      return AddressStatus::kNotNumericHost;
    }
    out->length = sizeof(sockaddr_in);
    return AddressStatus::kOk;
  }
  if (family == AF_INET6) {
    sockaddr_in6* in6 = reinterpret_cast<sockaddr_in6*>(&out->storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    in6->sin6_flowinfo = htonl(flowinfo);
    in6->sin6_scope_id = scope_id;
#ifdef SIN6_LEN
    in6->sin6_len = sizeof(sockaddr_in6);
#endif
    if (host[0] == '\0') {
      in6->sin6_addr = in6addr_any;
    } else {
      char text[64];
      size_t length = strlen(host);
      if (length >= sizeof(text)) return AddressStatus::kNotNumericHost;
      memcpy(text, host, length + 1);
      // "fe80::1%2" or "fe80::1%eth0": the zone is a number or an interface name.
      char* zone = strchr(text, '%');
      if (zone != nullptr) {
        *zone++ = '\0';
        char* end = nullptr;
        unsigned long number = strtoul(zone, &end, 10);
        if (*zone != '\0' && *end == '\0' && number <= UINT32_MAX) {
          in6->sin6_scope_id = static_cast<uint32_t>(number);
        } else {
          unsigned int index = if_nametoindex(zone);
          if (index == 0) return AddressStatus::kBadScope;
          in6->sin6_scope_id = index;
        }
      }
      if (inet_pton(AF_INET6, text, &in6->sin6_addr) != 1) return AddressStatus::kNotNumericHost;
    }
    out->length = sizeof(sockaddr_in6);
    return AddressStatus::kOk;
  }
  return AddressStatus::kBadFamily;
}

size_t MaxUnixPathLength(bool abstract_name) {
  size_t room = sizeof(reinterpret_cast<sockaddr_un*>(0)->sun_path);
  return abstract_name ? room : room - 1;
}

AddressStatus MakeUnixAddress(const char* path, size_t length, SockAddr* out) {
  memset(out, 0, sizeof(*out));
  sockaddr_un* un = reinterpret_cast<sockaddr_un*>(&out->storage);
#ifdef __linux__
  bool abstract_name = length > 0 && path[0] == '\0';
#else
  bool abstract_name = false;
#endif
  // An empty path may come with a null pointer (a zero-length buffer): touch nothing then.
  if (length > 0 && !abstract_name && memchr(path, '\0', length) != nullptr) return AddressStatus::kEmbeddedNul;
  if (length > MaxUnixPathLength(abstract_name)) return AddressStatus::kPathTooLong;
  un->sun_family = AF_UNIX;
  if (length > 0) memcpy(un->sun_path, path, length);
  // As Python: the length covers the path without its NUL (sun_path is zeroed,
  // so a filesystem path stays terminated), and an empty path is just the
  // family, which Linux answers by binding a fresh abstract name (autobind).
  out->length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length);
#ifdef SIN6_LEN
  un->sun_len = static_cast<uint8_t>(out->length);
#endif
  return AddressStatus::kOk;
}

bool DecodeAddress(const SockAddr& address, DecodedAddress* out) {
  memset(out, 0, sizeof(*out));
  out->family = address.storage.ss_family;
  if (address.length == 0) {
    out->family = AF_UNSPEC;
    return true;
  }
  if (out->family == AF_INET) {
    const sockaddr_in* in4 = reinterpret_cast<const sockaddr_in*>(&address.storage);
    inet_ntop(AF_INET, &in4->sin_addr, out->host, sizeof(out->host));
    out->port = ntohs(in4->sin_port);
    return true;
  }
  if (out->family == AF_INET6) {
    const sockaddr_in6* in6 = reinterpret_cast<const sockaddr_in6*>(&address.storage);
    inet_ntop(AF_INET6, &in6->sin6_addr, out->host, sizeof(out->host));
    out->port = ntohs(in6->sin6_port);
    out->flowinfo = ntohl(in6->sin6_flowinfo);
    out->scope_id = in6->sin6_scope_id;
    return true;
  }
  if (out->family == AF_UNIX) {
    const sockaddr_un* un = reinterpret_cast<const sockaddr_un*>(&address.storage);
    size_t header = offsetof(sockaddr_un, sun_path);
    size_t length = address.length > header ? address.length - header : 0;
    if (length > sizeof(un->sun_path)) length = sizeof(un->sun_path);
    out->path = un->sun_path;
    // A filesystem path ends at its NUL; an abstract name (Linux) is exactly `length` bytes.
    if (length > 0 && un->sun_path[0] != '\0') {
      const void* nul = memchr(un->sun_path, '\0', length);
      if (nul != nullptr) length = static_cast<const char*>(nul) - un->sun_path;
    }
    out->path_length = length;
    return true;
  }
  return false;
}

int MakePipe(int fds[2], bool nonblocking) {
#ifdef __linux__
  return pipe2(fds, O_CLOEXEC | (nonblocking ? O_NONBLOCK : 0));
#else
  if (pipe(fds) == -1) return -1;
  if (AddFlags(fds[0], nonblocking) == -1 || AddFlags(fds[1], nonblocking) == -1) {
    CloseKeepErrno(fds[0]);
    CloseKeepErrno(fds[1]);
    return -1;
  }
  return 0;
#endif
}

int OpenPty(int fds[2]) {
  int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master == -1) return -1;
  if (AddFlags(master, false) == -1 || grantpt(master) == -1 || unlockpt(master) == -1) {
    CloseKeepErrno(master);
    return -1;
  }
  const char* name = ptsname(master);
  if (name == nullptr) {
    CloseKeepErrno(master);
    return -1;
  }
  int slave;
  do {
    slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  } while (slave == -1 && errno == EINTR);
  if (slave == -1) {
    CloseKeepErrno(master);
    return -1;
  }
  fds[0] = master;
  fds[1] = slave;
  return 0;
}

int MakeSocket(int family, int type, int protocol, bool nonblocking) {
#ifdef SOCK_CLOEXEC
  int fd = socket(family, type | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), protocol);
  if (fd == -1) return -1;
#else
  int fd = socket(family, type, protocol);
  if (fd == -1) return -1;
  if (AddFlags(fd, nonblocking) == -1) {
    CloseKeepErrno(fd);
    return -1;
  }
#endif
  NoSigPipe(fd);
  return fd;
}

int MakeSocketPair(int family, int type, int protocol, bool nonblocking, int fds[2]) {
#ifdef SOCK_CLOEXEC
  if (socketpair(family, type | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), protocol, fds) == -1) return -1;
#else
  if (socketpair(family, type, protocol, fds) == -1) return -1;
  if (AddFlags(fds[0], nonblocking) == -1 || AddFlags(fds[1], nonblocking) == -1) {
    CloseKeepErrno(fds[0]);
    CloseKeepErrno(fds[1]);
    return -1;
  }
#endif
  NoSigPipe(fds[0]);
  NoSigPipe(fds[1]);
  return 0;
}

ssize_t ReadFd(int fd, void* buffer, size_t length) {
  ssize_t n;
  do n = read(fd, buffer, length);
  while (n == -1 && errno == EINTR);
  return n;
}

ssize_t WriteFd(int fd, const void* buffer, size_t length) {
  ssize_t n;
  do n = write(fd, buffer, length);
  while (n == -1 && errno == EINTR);
  return n;
}

int CloseFd(int fd) {
  // Never retry close on EINTR: the fd is already gone on Linux, and may be reused.
  int result = close(fd);
  if (result == -1 && errno == EINTR) return 0;
  return result;
}

int DupFd(int fd) { return fcntl(fd, F_DUPFD_CLOEXEC, 0); }

int SetBlocking(int fd, bool blocking) {
  int flags = fcntl(fd, F_GETFL);
  if (flags == -1) return -1;
  int wanted = blocking ? (flags & ~O_NONBLOCK) : (flags | O_NONBLOCK);
  if (wanted == flags) return 0;
  return fcntl(fd, F_SETFL, wanted);
}

int GetBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags == -1) return -1;
  return (flags & O_NONBLOCK) ? 0 : 1;
}

int SetInheritable(int fd, bool inheritable) {
  int flags = fcntl(fd, F_GETFD);
  if (flags == -1) return -1;
  int wanted = inheritable ? (flags & ~FD_CLOEXEC) : (flags | FD_CLOEXEC);
  if (wanted == flags) return 0;
  return fcntl(fd, F_SETFD, wanted);
}

int GetInheritable(int fd) {
  int flags = fcntl(fd, F_GETFD);
  if (flags == -1) return -1;
  return (flags & FD_CLOEXEC) ? 0 : 1;
}

int BindFd(int fd, const SockAddr& address) {
  return bind(fd, reinterpret_cast<const sockaddr*>(&address.storage), address.length);
}

int ListenFd(int fd, int backlog) { return listen(fd, backlog); }

int AcceptFd(int fd, bool nonblocking, SockAddr* peer) {
  int client;
  do {
    peer->length = sizeof(peer->storage);
#ifdef __linux__
    client = accept4(fd, reinterpret_cast<sockaddr*>(&peer->storage), &peer->length,
                     SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0));
#else
    client = accept(fd, reinterpret_cast<sockaddr*>(&peer->storage), &peer->length);
#endif
  } while (client == -1 && errno == EINTR);
  if (client == -1) return -1;
#ifndef __linux__
  // BSD accept() inherits O_NONBLOCK from the listener; set both flags explicitly.
  if (AddFlags(client, false) == -1 || SetBlocking(client, !nonblocking) == -1) {
    CloseKeepErrno(client);
    return -1;
  }
#endif
  NoSigPipe(client);
  return client;
}

int ConnectFd(int fd, const SockAddr& address) {
  int result = connect(fd, reinterpret_cast<const sockaddr*>(&address.storage), address.length);
  if (result == 0 || errno != EINTR) return result;
  // Interrupted: the connection goes on in the background. A non-blocking
  // socket reports that as EINPROGRESS; a blocking one waits for it (PEP 475).
  if (GetBlocking(fd) != 1) {
    errno = EINPROGRESS;
    return -1;
  }
  pollfd waiter = {fd, POLLOUT, 0};
  int ready;
  do ready = poll(&waiter, 1, -1);
  while (ready == -1 && errno == EINTR);
  if (ready == -1) return -1;
  int error = 0;
  socklen_t length = sizeof(error);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == -1) return -1;
  if (error != 0) {
    errno = error;
    return -1;
  }
  return 0;
}

ssize_t SendFd(int fd, const void* buffer, size_t length, int flags) {
  ssize_t n;
  do n = send(fd, buffer, length, flags | kNoSignal);
  while (n == -1 && errno == EINTR);
  return n;
}

ssize_t RecvFd(int fd, void* buffer, size_t length, int flags) {
  ssize_t n;
  do n = recv(fd, buffer, length, flags);
  while (n == -1 && errno == EINTR);
  return n;
}

ssize_t SendToFd(int fd, const void* buffer, size_t length, int flags, const SockAddr& address) {
  ssize_t n;
  do n = sendto(fd, buffer, length, flags | kNoSignal, reinterpret_cast<const sockaddr*>(&address.storage),
                address.length);
  while (n == -1 && errno == EINTR);
  return n;
}

ssize_t RecvFromFd(int fd, void* buffer, size_t length, int flags, SockAddr* from) {
  ssize_t n;
  do {
    from->length = sizeof(from->storage);
    n = recvfrom(fd, buffer, length, flags, reinterpret_cast<sockaddr*>(&from->storage), &from->length);
  } while (n == -1 && errno == EINTR);
  return n;
}

int ShutdownFd(int fd, int how) { return shutdown(fd, how); }

int GetSockName(int fd, SockAddr* out) {
  memset(out, 0, sizeof(*out));
  out->length = sizeof(out->storage);
  return getsockname(fd, reinterpret_cast<sockaddr*>(&out->storage), &out->length);
}

int GetPeerName(int fd, SockAddr* out) {
  memset(out, 0, sizeof(*out));
  out->length = sizeof(out->storage);
  return getpeername(fd, reinterpret_cast<sockaddr*>(&out->storage), &out->length);
}

int SetSockOpt(int fd, int level, int name, const void* value, socklen_t length) {
  return setsockopt(fd, level, name, value, length);
}

int GetSockOpt(int fd, int level, int name, void* value, socklen_t* length) {
  return getsockopt(fd, level, name, value, length);
}

int SocketInfo(int fd, int* family, int* type, int* protocol) {
  SockAddr address;
  if (GetSockName(fd, &address) == -1) return -1;
  *family = address.storage.ss_family;
  socklen_t length = sizeof(*type);
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, type, &length) == -1) return -1;
  *protocol = 0;
#ifdef SO_PROTOCOL
  length = sizeof(*protocol);
  if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, protocol, &length) == -1) *protocol = 0;
#endif
  return 0;
}

size_t ControlSpace(size_t length) { return CMSG_SPACE(length); }
size_t ControlLength(size_t length) { return CMSG_LEN(length); }

void BuildControl(const Ancillary* items, size_t count, std::vector<uint8_t>* out) {
  size_t total = 0;
  for (size_t i = 0; i < count; i++) total += CMSG_SPACE(items[i].length);
  out->assign(total, 0);
  if (total == 0) return;
  msghdr message;
  memset(&message, 0, sizeof(message));
  message.msg_control = out->data();
  message.msg_controllen = total;
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  for (size_t i = 0; i < count && header != nullptr; i++) {
    header->cmsg_level = items[i].level;
    header->cmsg_type = items[i].type;
    header->cmsg_len = CMSG_LEN(items[i].length);
    if (items[i].length > 0) memcpy(CMSG_DATA(header), items[i].data, items[i].length);
    header = CMSG_NXTHDR(&message, header);
  }
}

void ParseControl(const uint8_t* control, size_t length, std::vector<Ancillary>* out) {
  out->clear();
  if (length < sizeof(cmsghdr)) return;
  msghdr message;
  memset(&message, 0, sizeof(message));
  message.msg_control = const_cast<uint8_t*>(control);
  message.msg_controllen = length;
  const uint8_t* end = control + length;
  for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr; header = CMSG_NXTHDR(&message, header)) {
    const uint8_t* data = CMSG_DATA(header);
    if (header->cmsg_len < CMSG_LEN(0) || data > end) break;
    size_t data_length = header->cmsg_len - CMSG_LEN(0);
    // A truncated (MSG_CTRUNC) item may claim more than the buffer holds.
    if (data_length > static_cast<size_t>(end - data)) data_length = end - data;
    out->push_back(Ancillary{header->cmsg_level, header->cmsg_type, data, data_length});
  }
}

ssize_t SendMsgFd(int fd, const iovec* buffers, size_t buffer_count, const uint8_t* control,
                  size_t control_length, int flags, const SockAddr* address) {
  msghdr message;
  memset(&message, 0, sizeof(message));
  message.msg_iov = const_cast<iovec*>(buffers);
  message.msg_iovlen = buffer_count;
  if (control_length > 0) {
    message.msg_control = const_cast<uint8_t*>(control);
    message.msg_controllen = control_length;
  }
  if (address != nullptr) {
    message.msg_name = const_cast<sockaddr_storage*>(&address->storage);
    message.msg_namelen = address->length;
  }
  ssize_t n;
  do n = sendmsg(fd, &message, flags | kNoSignal);
  while (n == -1 && errno == EINTR);
  return n;
}

ssize_t RecvMsgFd(int fd, iovec* buffers, size_t buffer_count, uint8_t* control,
                  size_t* control_length, int flags, SockAddr* from, int* message_flags) {
  msghdr message;
  ssize_t n;
#ifdef MSG_CMSG_CLOEXEC
  flags |= MSG_CMSG_CLOEXEC;
#endif
  do {
    memset(&message, 0, sizeof(message));
    memset(from, 0, sizeof(*from));
    message.msg_iov = buffers;
    message.msg_iovlen = buffer_count;
    if (*control_length > 0) {
      message.msg_control = control;
      message.msg_controllen = *control_length;
    }
    message.msg_name = &from->storage;
    message.msg_namelen = sizeof(from->storage);
    n = recvmsg(fd, &message, flags);
  } while (n == -1 && errno == EINTR);
  if (n == -1) return -1;
  from->length = message.msg_namelen;
  *control_length = message.msg_control != nullptr ? message.msg_controllen : 0;
  *message_flags = message.msg_flags;
#ifndef MSG_CMSG_CLOEXEC
  std::vector<Ancillary> items;
  ParseControl(control, *control_length, &items);
  for (const Ancillary& item : items) {
    if (item.level != SOL_SOCKET || item.type != SCM_RIGHTS) continue;
    for (size_t i = 0; i + sizeof(int) <= item.length; i += sizeof(int)) {
      int received;
      memcpy(&received, item.data + i, sizeof(int));
      AddFlags(received, false);
    }
  }
#endif
  return n;
}

}  // namespace evloop_sys

#endif  // defined(EVLOOP_HAS_POSIX)
