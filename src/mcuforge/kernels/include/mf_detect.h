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

/* SSD-style post-processing: TF-Lite Micro's TFLite_Detection_PostProcess on int8 heads
 * (mcuforge/apps/ssd.py documents every step). Its float arithmetic, operation for
 * operation: boxes decoded in double and rounded to float, IoU in float, so the outputs
 * equal TF-Lite Micro's bit for bit. Needs IEEE-754 float and double and no contraction
 * into fused multiply-adds (ISO C: -std=c99 turns GCC's -ffp-contract off). exp() is read
 * from per-code tables the code generator makes; libm is never called.
 * Outputs (float): boxes [rows][4] (ymin, xmin, ymax, xmax), classes [rows], scores [rows],
 * num_detections [1]; rows = max_detections * max_classes_per_detection, unused rows 0.
 * Scratch: MF_SSD_SCRATCH_BYTES(num_boxes, max_detections). */
typedef struct {
    int32_t num_boxes, box_stride;                     /* N, values per box encoding (>= 4) */
    int32_t num_classes, score_stride, label_offset;   /* C, C' = C or C + 1, C' - C */
    int32_t max_detections, max_classes_per_detection, detections_per_class, use_regular_nms;
    float box_scale;                                   /* box encodings: float(double(scale) * (q - zp)) */
    int32_t box_zero_point;
    float y_scale, x_scale;
    const int64_t *exp_h, *exp_w; /* 0.5 * exp(v(q) / h_scale), per q + 128: IEEE-754 double bit patterns */
    const float *anchors;         /* N x (y, x, h, w) */
    const float *score;           /* dequantised score per q + 128 */
    const uint8_t *rank;          /* per q + 128: 0 for the highest score, equal scores equal ranks */
    int32_t ranks_kept;           /* scores of rank < ranks_kept are >= nms_score_threshold */
    float iou_threshold;          /* suppress IoU > this */
} mf_ssd_params;

#define MF_SSD_SCRATCH_BYTES(n, d) (16 * (n) + 4 * (n) + 4 * 257 + 8 * (d) + (((n) + 3) / 4) * 4)

void mf_ssd_detect(const mf_ssd_params *p, const int8_t *boxes, const int8_t *scores, float *det_boxes,
                   float *det_classes, float *det_scores, float *num_detections, void *scratch);

#endif
