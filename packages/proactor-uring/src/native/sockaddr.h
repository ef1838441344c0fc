// Socket addresses for the ring's connect, sendmsg, recvmsg and accept,
// kept in a JavaScript-owned scratch buffer that lives as long as the
// operation does. No Node-API types.
#ifndef EVLOOP_PROACTOR_URING_SOCKADDR_H_
#define EVLOOP_PROACTOR_URING_SOCKADDR_H_

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace evloop {

// The scratch layout: a msghdr and one iovec for sendmsg/recvmsg, then a
// sockaddr_storage and its length (accept writes both).
constexpr size_t kScratchMsghdr = 0;
constexpr size_t kScratchIovec = 64;
constexpr size_t kScratchAddress = 80;
constexpr size_t kScratchAddressLength = kScratchAddress + sizeof(sockaddr_storage);
constexpr size_t kScratchSize = 256;
static_assert(sizeof(msghdr) <= kScratchIovec, "msghdr fits before the iovec");
static_assert(kScratchAddressLength + sizeof(socklen_t) <= kScratchSize, "scratch holds everything");

// Writes an AF_INET/AF_INET6 address (numeric host, '' the wildcard,
// '<broadcast>' INADDR_BROADCAST) into `out`. Returns its length, or -errno
// (-EINVAL for a host that is not a numeric address of that family).
int EncodeInetAddress(int family, const std::string& host, int port, uint32_t flowinfo, uint32_t scope_id,
                      sockaddr_storage* out);
// Writes an AF_UNIX address (a leading NUL byte: Linux's abstract namespace).
int EncodeUnixAddress(const char* path, size_t length, sockaddr_storage* out);

// What an address decodes to: AF_INET [host, port], AF_INET6 [host, port,
// flowinfo, scopeId], AF_UNIX a path (bytes), or nothing (an unnamed peer).
struct DecodedAddress {
  int family = AF_UNSPEC;
  std::string host;  // or the Unix path's bytes
  int port = 0;
  uint32_t flowinfo = 0;
  uint32_t scope_id = 0;
};
bool DecodeAddress(const sockaddr_storage& address, socklen_t length, DecodedAddress* out);

}  // namespace evloop

#endif  // EVLOOP_PROACTOR_URING_SOCKADDR_H_
