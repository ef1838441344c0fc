/* bcryptprimitives.dll for Wine 8.0, which lacks ProcessPrng: Node 22 and
 * the Rust binaries vitest loads (rolldown) get their random bytes from it.
 * It forwards to BCryptGenRandom with the system-preferred generator. */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
  while (length > 0) {
    ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
    if (BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0) return FALSE;
    data += chunk;
    length -= chunk;
  }
  return TRUE;
}
