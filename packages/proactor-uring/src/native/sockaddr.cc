#ifdef __linux__  // io_uring is Linux-only; elsewhere the addon only says so
#include "sockaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

namespace evloop {

int EncodeInetAddress(int family, const std::string& host, int port, uint32_t flowinfo, uint32_t scope_id,
                      sockaddr_storage* out) {
  std::memset(out, 0, sizeof(*out));
  if (port < 0 || port > 65535) return -EINVAL;
  if (family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(out);
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(port));
    if (host.empty()) {
      in->sin_addr.s_addr = htonl(INADDR_ANY);
    } else if (host == "<broadcast>") {
      in->sin_addr.s_addr = htonl(INADDR_BROADCAST);
    } else if (inet_pton(AF_INET, host.c_str(), &in->sin_addr) != 1) {
      return -EINVAL;
    }
    return sizeof(sockaddr_in);
  }
  if (family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(out);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    in6->sin6_flowinfo = htonl(flowinfo);
    in6->sin6_scope_id = scope_id;
    if (host.empty()) {
      in6->sin6_addr = in6addr_any;
    } else if (inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) != 1) {
      return -EINVAL;
    }
    return sizeof(sockaddr_in6);
  }
  return -EAFNOSUPPORT;
}

int EncodeUnixAddress(const char* path, size_t length, sockaddr_storage* out) {
  std::memset(out, 0, sizeof(*out));
  auto* un = reinterpret_cast<sockaddr_un*>(out);
  if (length > sizeof(un->sun_path)) return -ENAMETOOLONG;
  un->sun_family = AF_UNIX;
  std::memcpy(un->sun_path, path, length);
  return static_cast<int>(offsetof(sockaddr_un, sun_path) + length + (length > 0 && path[0] != '\0' ? 1 : 0));
}

bool DecodeAddress(const sockaddr_storage& address, socklen_t length, DecodedAddress* out) {
  char text[INET6_ADDRSTRLEN];
  switch (address.ss_family) {
    case AF_INET: {
      const auto& in = reinterpret_cast<const sockaddr_in&>(address);
      if (inet_ntop(AF_INET, &in.sin_addr, text, sizeof(text)) == nullptr) return false;
      out->family = AF_INET;
      out->host = text;
      out->port = ntohs(in.sin_port);
      return true;
    }
    case AF_INET6: {
      const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
      if (inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof(text)) == nullptr) return false;
      out->family = AF_INET6;
      out->host = text;
      out->port = ntohs(in6.sin6_port);
      out->flowinfo = ntohl(in6.sin6_flowinfo);
      out->scope_id = in6.sin6_scope_id;
      return true;
    }
    case AF_UNIX: {
      const auto& un = reinterpret_cast<const sockaddr_un&>(address);
      const size_t base = offsetof(sockaddr_un, sun_path);
      size_t size = length > base ? length - base : 0;
      if (size > sizeof(un.sun_path)) size = sizeof(un.sun_path);
      // A pathname ends at its NUL; an abstract name (leading NUL) is all bytes.
      if (size > 0 && un.sun_path[0] != '\0') size = strnlen(un.sun_path, size);
      out->family = AF_UNIX;
      out->host.assign(un.sun_path, size);
      return true;
    }
    default:
      return false;
  }
}

}  // namespace evloop

#endif  // __linux__
