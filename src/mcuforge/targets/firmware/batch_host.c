/* Host batch runner: batch_host IN.bin OUT.bin [RESET_EVERY]. IN.bin holds one record per
 * image, each the raw little-endian bytes of mf_input(0), mf_input(1), ... in order; for
 * each record the model runs once and the bytes of mf_output(0), ... are appended to
 * OUT.bin, which is flushed after every record (its size tells how many images are done).
 * State (variable tensors) carries from record to record; with RESET_EVERY = K, mf_reset()
 * runs before records 0, K, 2K, ... (a stateful front end over clips of K frames each).
 * Returns 0 when every record was run, 2 on a truncated record, an I/O error or a bad K. */
#include <stdio.h>
#include <stdlib.h>

#include "model.h"

static int fail(const char *message, const char *path) {
    fprintf(stderr, "batch_host: %s %s\n", message, path);
    return 2;
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: %s IN.bin OUT.bin [RESET_EVERY]\n", argv[0]);
        return 2;
    }
    long reset_every = argc == 4 ? strtol(argv[3], NULL, 10) : 0;
    if (argc == 4 && reset_every < 1) {
        return fail("RESET_EVERY must be a positive number, not", argv[3]);
    }
    long record = 0;
    FILE *in = fopen(argv[1], "rb");
    if (!in) {
        return fail("cannot open", argv[1]);
    }
    FILE *out = fopen(argv[2], "wb");
    if (!out) {
        fclose(in);
        return fail("cannot create", argv[2]);
    }
    int status = 0;
    for (;;) {
        int c = fgetc(in);
        if (c == EOF) {
            break; /* every record read */
        }
        ungetc(c, in);
        for (int i = 0; i < MF_NUM_INPUTS && status == 0; i++) {
            if (fread(mf_input(i), 1, mf_input_bytes(i), in) != mf_input_bytes(i)) {
                status = fail("truncated record in", argv[1]);
            }
        }
        if (status != 0) {
            break;
        }
        if (reset_every > 0 && record % reset_every == 0) {
            mf_reset();
        }
        record++;
        mf_invoke();
        for (int i = 0; i < MF_NUM_OUTPUTS && status == 0; i++) {
            if (fwrite(mf_output(i), 1, mf_output_bytes(i), out) != mf_output_bytes(i)) {
                status = fail("cannot write", argv[2]);
            }
        }
        if (status != 0 || fflush(out) != 0) {
            status = status ? status : fail("cannot write", argv[2]);
            break;
        }
    }
    if (ferror(in)) {
        status = fail("cannot read", argv[1]);
    }
    fclose(in);
    if (fclose(out) != 0 && status == 0) {
        status = fail("cannot write", argv[2]);
    }
    return status;
}
