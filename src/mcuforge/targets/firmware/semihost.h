/* Arm semihosting (the host's files and exit status, reached from the guest through
 * `bkpt 0xAB` on M-profile cores). QEMU serves these calls when started with
 * -semihosting-config enable=on,target=native. Operation numbers and the exit reasons
 * are those of Arm's semihosting specification. */
#ifndef MF_SEMIHOST_H
#define MF_SEMIHOST_H

#include <stddef.h>
#include <stdint.h>

#define SH_MODE_RB 1 /* fopen mode "rb" */
#define SH_MODE_WB 5 /* fopen mode "wb" */

int sh_open(const char *name, int mode);         /* handle, or -1 */
int sh_close(int handle);                        /* 0 on success */
size_t sh_read(int handle, void *buf, size_t n); /* bytes NOT read (0: all read) */
size_t sh_write(int handle, const void *buf, size_t n); /* bytes NOT written */
long sh_flen(int handle);                        /* file length, or -1 */
void sh_write0(const char *text);                /* a message on QEMU's console */
void sh_exit(int ok) __attribute__((noreturn));  /* QEMU exits with status 0 if ok, else 1 */

#endif
