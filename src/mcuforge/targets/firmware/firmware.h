/* Shared between startup.c and main.c. */
#ifndef MF_FIRMWARE_H
#define MF_FIRMWARE_H

/* Word the reset handler writes over the whole stack; main finds the deepest word the
 * program overwrote by scanning up from the bottom for the first word that differs. */
#define MF_STACK_PAINT 0xC5C5C5C5u

#endif
