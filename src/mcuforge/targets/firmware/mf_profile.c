/* The marker the QEMU plugin watches (its address is passed to the plugin). Compiled in
 * its own file and noinline, so each mark is exactly one `bl` in the caller; its body is
 * a single `bx lr`, which the plugin does not count. */
#include "mf_profile.h"

__attribute__((noinline)) void mf_profile_mark(void) {
    __asm__ volatile("" ::: "memory");
}
