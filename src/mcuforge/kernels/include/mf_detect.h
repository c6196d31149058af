/* mcuforge kernels: detection post-processing (YOLO-style heads -> boxes -> NMS).
 *
 * Integer arithmetic only, on tables the code generator makes from each head's
 * quantisation, so the boxes equal the Python reference's bit for bit
 * (mcuforge/apps/yolo.py documents every step):
 *   sig[q + 128] = sigmoid(real(q)) in Q15, expo[q + 128] = min(exp(real(q)), 1024) in Q8.
 * Output: max_boxes rows of int32 {x0, y0, x1, y1 (1/256 input pixels), score (Q30),
 * label}; unused rows are zero with label -1. Scratch: max_candidates rows of 7 int32. */
#ifndef MF_DETECT_H
#define MF_DETECT_H

#include <stdint.h>

#define MF_DETECT_MAX_HEADS 4

typedef struct {
    int32_t grid_h, grid_w, num_anchors, num_classes, stride;
    const int32_t *anchors; /* (w, h) per anchor, input pixels */
    const int32_t *sig;     /* 256 entries */
    const int32_t *expo;    /* 256 entries */
} mf_yolo_head;

typedef struct {
    int32_t num_heads;
    const mf_yolo_head *heads;
    int32_t image_h, image_w;
    int32_t score_q30; /* keep score >= this */
    int32_t nms_q16;   /* drop IoU > this */
    int32_t max_boxes, max_candidates;
} mf_yolo_params;

void mf_yolo_detect(const mf_yolo_params *p, const int8_t *const *heads, int32_t *out, void *scratch);

#endif
