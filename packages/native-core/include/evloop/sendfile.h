// One sendfile(2) step, for every addon that sends files (@evloop/sys for
// the selector loops, proactor-uring): up to `count` bytes of the file
// `in_fd` from `offset` to the socket `out_fd`, without moving the file's own
// position. The argument order and signature differ on Linux, macOS and
// FreeBSD. `count` 0 means up to the end of the file; one call sends at most
// kMaxSendfileStep bytes. Returns the bytes sent: fewer than asked is a
// partial send (a full socket buffer, or the end of the file; 0 at or past
// it). -1 with errno on failure, EAGAIN when a non-blocking socket takes
// nothing now; ENOSYS where the platform has no sendfile. POSIX only.
#ifndef EVLOOP_SENDFILE_H_
#define EVLOOP_SENDFILE_H_

#ifdef _WIN32
#error "evloop/sendfile.h is sendfile(2); Windows sends files with TransmitFile"
#endif

#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

#if defined(__linux__)
#include <sys/sendfile.h>
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__DragonFly__)
#include <sys/socket.h>
#include <sys/uio.h>
#endif

namespace evloop {

constexpr size_t kMaxSendfileStep = 0x7ffff000;

inline ssize_t SendFile(int out_fd, int in_fd, int64_t offset, size_t count) {
  if (count == 0 || count > kMaxSendfileStep) count = kMaxSendfileStep;
#if defined(__linux__)
  // Linux: sendfile(out, in, &offset, count). It stops at the end of the
  // file by itself, so "to the end" is just the largest step; an EINTR
  // after some bytes went out is reported as that partial count.
  off_t position = static_cast<off_t>(offset);
  ssize_t n;
  do n = sendfile(out_fd, in_fd, &position, count);
  while (n == -1 && errno == EINTR);
  return n;
#elif defined(__APPLE__)
  // macOS: sendfile(file, socket, offset, &length, headers, flags); length
  // is in/out. A non-blocking socket that took part of it fails with
  // EAGAIN (an interrupted one with EINTR) and says in `length` what it
  // took: that is a partial send, as CPython's os.sendfile reports it.
  for (;;) {
    off_t length = static_cast<off_t>(count);
    if (sendfile(in_fd, out_fd, static_cast<off_t>(offset), &length, nullptr, 0) == 0) return static_cast<ssize_t>(length);
    if ((errno == EAGAIN || errno == EINTR) && length > 0) return static_cast<ssize_t>(length);
    if (errno != EINTR) return -1;
  }
#elif defined(__FreeBSD__) || defined(__DragonFly__)
  // FreeBSD: sendfile(file, socket, offset, nbytes, headers, &sbytes, flags),
  // the same partial-send rule through `sbytes` (EBUSY too, as CPython has it).
  for (;;) {
    off_t sent = 0;
    if (sendfile(in_fd, out_fd, static_cast<off_t>(offset), count, nullptr, &sent, 0) == 0) return static_cast<ssize_t>(sent);
    if ((errno == EAGAIN || errno == EBUSY || errno == EINTR) && sent > 0) return static_cast<ssize_t>(sent);
    if (errno != EINTR) return -1;
  }
#else
  // No sendfile(2) here: the loop copies instead.
  (void)out_fd;
  (void)in_fd;
  (void)offset;
  errno = ENOSYS;
  return -1;
#endif
}

}  // namespace evloop

#endif  // EVLOOP_SENDFILE_H_
