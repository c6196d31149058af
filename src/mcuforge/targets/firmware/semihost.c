/* Arm semihosting calls; see semihost.h. */
/* Start-up and I/O, not model work: optimised for size. */
#pragma GCC optimize("Os")

#include "semihost.h"

#define SYS_OPEN 0x01
#define SYS_CLOSE 0x02
#define SYS_WRITE0 0x04
#define SYS_WRITE 0x05
#define SYS_READ 0x06
#define SYS_FLEN 0x0C
#define SYS_EXIT 0x18
#define ADP_STOPPED_APPLICATION_EXIT 0x20026 /* QEMU exits with status 0 */
#define ADP_STOPPED_RUNTIME_ERROR 0x20023    /* any other reason: status 1 */

/* r0 = operation, r1 = argument (a pointer to a parameter block, or a value); result in r0. */
static int32_t sh_call(int32_t op, const void *arg) {
    register int32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/* A plain loop, kept from becoming a call to newlib's strlen (220 bytes of code). */
__attribute__((optimize("no-tree-loop-distribute-patterns"))) static size_t length(const char *s) {
    size_t n = 0;
    while (s[n] != '\0') {
        n++;
    }
    return n;
}

int sh_open(const char *name, int mode) {
    const uint32_t block[3] = {(uint32_t)(uintptr_t)name, (uint32_t)mode, (uint32_t)length(name)};
    return (int)sh_call(SYS_OPEN, block);
}

int sh_close(int handle) {
    const uint32_t block[1] = {(uint32_t)handle};
    return (int)sh_call(SYS_CLOSE, block);
}

size_t sh_read(int handle, void *buf, size_t n) {
    const uint32_t block[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)buf, (uint32_t)n};
    return (size_t)sh_call(SYS_READ, block);
}

size_t sh_write(int handle, const void *buf, size_t n) {
    const uint32_t block[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)buf, (uint32_t)n};
    return (size_t)sh_call(SYS_WRITE, block);
}

long sh_flen(int handle) {
    const uint32_t block[1] = {(uint32_t)handle};
    return (long)sh_call(SYS_FLEN, block);
}

void sh_write0(const char *text) {
    sh_call(SYS_WRITE0, text);
}

void sh_exit(int ok) {
    /* On 32-bit targets SYS_EXIT takes the reason itself in r1, not a parameter block. */
    sh_call(SYS_EXIT, (const void *)(uintptr_t)(ok ? ADP_STOPPED_APPLICATION_EXIT : ADP_STOPPED_RUNTIME_ERROR));
    for (;;) {
    }
}
