/* Firmware main: read the model's inputs from the host through semihosting (files in0.bin,
 * in1.bin, ... in QEMU's working folder, the raw bytes of mf_input(i)), run the model once,
 * write out0.bin, ... and stats.txt (the stack high-water mark). Returns 0 on success. */
/* Start-up and I/O, not model work: optimised for size. */
#pragma GCC optimize("Os")

#include <stddef.h>
#include <stdint.h>

#include "firmware.h"
#include "model.h"
#include "semihost.h"

extern uint32_t _sstack, _estack;

/* "<prefix><i>.bin" into name (i < 1000). */
static void file_name(char *name, const char *prefix, int i) {
    size_t n = 0;
    while (prefix[n] != '\0') {
        name[n] = prefix[n];
        n++;
    }
    if (i >= 100) {
        name[n++] = (char)('0' + i / 100);
    }
    if (i >= 10) {
        name[n++] = (char)('0' + (i / 10) % 10);
    }
    name[n++] = (char)('0' + i % 10);
    const char *ext = ".bin";
    for (int k = 0; k < 5; k++) {
        name[n++] = ext[k];
    }
}

static int fail(const char *message) {
    sh_write0(message);
    return 1;
}

static int read_input(int i) {
    char name[16];
    file_name(name, "in", i);
    const int h = sh_open(name, SH_MODE_RB);
    if (h < 0) {
        return fail("mcuforge firmware: cannot open an input file\n");
    }
    const int ok = sh_flen(h) == (long)mf_input_bytes(i) && sh_read(h, mf_input(i), mf_input_bytes(i)) == 0;
    sh_close(h);
    return ok ? 0 : fail("mcuforge firmware: an input file has the wrong size\n");
}

static int write_bytes(const char *name, const void *data, size_t n) {
    const int h = sh_open(name, SH_MODE_WB);
    if (h < 0) {
        return fail("mcuforge firmware: cannot create an output file\n");
    }
    const int ok = sh_write(h, data, n) == 0;
    sh_close(h);
    return ok ? 0 : fail("mcuforge firmware: cannot write an output file\n");
}

/* Bytes of stack ever used: from the top down to the deepest overwritten painted word. */
static size_t stack_high_water(void) {
    const uint32_t *p = &_sstack;
    while (p < &_estack && *p == MF_STACK_PAINT) {
        p++;
    }
    return (size_t)((const uint8_t *)&_estack - (const uint8_t *)p);
}

static size_t decimal(char *out, size_t v) {
    char digits[12];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t k = 0; k < n; k++) {
        out[k] = digits[n - 1 - k];
    }
    return n;
}

int main(void) {
    for (int i = 0; i < MF_NUM_INPUTS; i++) {
        if (read_input(i) != 0) {
            return 1;
        }
    }
    mf_invoke();
    for (int i = 0; i < MF_NUM_OUTPUTS; i++) {
        char name[16];
        file_name(name, "out", i);
        if (write_bytes(name, mf_output(i), mf_output_bytes(i)) != 0) {
            return 1;
        }
    }
    const size_t used = stack_high_water();
    if (used >= (size_t)((const uint8_t *)&_estack - (const uint8_t *)&_sstack)) {
        return fail("mcuforge firmware: the stack overflowed its reservation\n");
    }
    char text[40] = "stack_bytes ";
    size_t n = 12;
    n += decimal(text + n, used);
    text[n++] = '\n';
    return write_bytes("stats.txt", text, n);
}
