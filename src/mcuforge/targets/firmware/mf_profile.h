/* Per-node profiling hook for the QEMU firmware (model.c includes this when built with
 * -DMF_PROFILE). Each MF_PROFILE_NODE(i) is one call of an empty function; the QEMU
 * plugin (mfcount.c) records the executed-instruction count each time it runs. The node
 * index is not passed: the plugin sees the calls in execution order, which the code
 * generator fixed, so no argument set-up adds instructions to the count. */
#ifndef MF_PROFILE_H
#define MF_PROFILE_H

void mf_profile_mark(void);

#define MF_PROFILE_NODE(i) mf_profile_mark()

#endif
