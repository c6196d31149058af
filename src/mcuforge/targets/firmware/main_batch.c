/* Batch firmware main: one boot runs the model on every image of in.bin (in QEMU's
 * working folder, through semihosting). in.bin holds one record per image, the raw bytes
 * of mf_input(0), mf_input(1), ... in order; after each mf_invoke() the bytes of
 * mf_output(0), ... are appended to out.bin, so its size tells the host how many images
 * are done. Returns 0 when every record was run and the stack stayed in its reservation. */
/* Start-up and I/O, not model work: optimised for size. */
#pragma GCC optimize("Os")

#include <stddef.h>
#include <stdint.h>

#include "firmware.h"
#include "model.h"
#include "semihost.h"

extern uint32_t _sstack, _estack;

static int fail(const char *message) {
    sh_write0(message);
    return 1;
}

/* Bytes of stack ever used: from the top down to the deepest overwritten painted word. */
static size_t stack_high_water(void) {
    const uint32_t *p = &_sstack;
    while (p < &_estack && *p == MF_STACK_PAINT) {
        p++;
    }
    return (size_t)((const uint8_t *)&_estack - (const uint8_t *)p);
}

static int run_records(int in, int out, long records) {
    for (long r = 0; r < records; r++) {
        for (int i = 0; i < MF_NUM_INPUTS; i++) {
            if (sh_read(in, mf_input(i), mf_input_bytes(i)) != 0) {
                return fail("mcuforge firmware: cannot read a record of in.bin\n");
            }
        }
        mf_invoke();
        for (int i = 0; i < MF_NUM_OUTPUTS; i++) {
            if (sh_write(out, mf_output(i), mf_output_bytes(i)) != 0) {
                return fail("mcuforge firmware: cannot write out.bin\n");
            }
        }
    }
    return 0;
}

int main(void) {
    size_t record = 0;
    for (int i = 0; i < MF_NUM_INPUTS; i++) {
        record += mf_input_bytes(i);
    }
    const int in = sh_open("in.bin", SH_MODE_RB);
    if (in < 0) {
        return fail("mcuforge firmware: cannot open in.bin\n");
    }
    const long total = sh_flen(in);
    if (total < 0 || record == 0 || (size_t)total % record != 0) {
        sh_close(in);
        return fail("mcuforge firmware: in.bin is not a whole number of input records\n");
    }
    const int out = sh_open("out.bin", SH_MODE_WB);
    if (out < 0) {
        sh_close(in);
        return fail("mcuforge firmware: cannot create out.bin\n");
    }
    const int status = run_records(in, out, (long)((size_t)total / record));
    sh_close(in);
    sh_close(out);
    if (status != 0) {
        return status;
    }
    if (stack_high_water() >= (size_t)((const uint8_t *)&_estack - (const uint8_t *)&_sstack)) {
        return fail("mcuforge firmware: the stack overflowed its reservation\n");
    }
    return 0;
}
