/* Wine 8 (Debian 12) has no bcryptprimitives.dll, whose ProcessPrng Rust's std (1.78+)
 * imports on Windows for its random numbers. scripts/install-cross-tools.sh builds this
 * with MinGW into the Wine prefix that scripts/cross-check.sh runs the core's tests in;
 * it answers from advapi32's RtlGenRandom (SystemFunction036), which Wine has. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
  while (length > 0) {
    ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
    if (!SystemFunction036(data, chunk)) return FALSE;
    data += chunk;
    length -= chunk;
  }
  return TRUE;
}
