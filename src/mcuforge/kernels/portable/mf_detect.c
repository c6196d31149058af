/* Detection post-processing (see mf_detect.h and mcuforge/apps/yolo.py). */
#include "mf_detect.h"

#include <string.h>

/* A candidate row: x0, y0, x1, y1, score, label, scan index. */
#define ROW 7

static int64_t area(const int32_t *b) {
    int64_t w = (int64_t)b[2] - b[0], h = (int64_t)b[3] - b[1];
    return (w > 0 && h > 0) ? w * h : 0;
}

/* IoU(a, b) > thr in integers: inter * 2^16 > thr * union. */
static int overlaps(const int32_t *a, const int32_t *b, int32_t thr_q16) {
    int32_t iw = (a[2] < b[2] ? a[2] : b[2]) - (a[0] > b[0] ? a[0] : b[0]);
    int32_t ih = (a[3] < b[3] ? a[3] : b[3]) - (a[1] > b[1] ? a[1] : b[1]);
    if (iw <= 0 || ih <= 0) {
        return 0;
    }
    int64_t inter = (int64_t)iw * ih;
    int64_t uni = area(a) + area(b) - inter;
    return inter * 65536 > (int64_t)thr_q16 * uni;
}

/* Insert into the list sorted by score (highest first), after equal scores: the
 * candidates arrive in scan order, so ties stay in scan order. */
static void insert(int32_t *cand, int32_t *count, int32_t cap, const int32_t *row) {
    int32_t pos = *count;
    while (pos > 0 && cand[(pos - 1) * ROW + 4] < row[4]) {
        --pos;
    }
    if (pos >= cap) {
        return;
    }
    int32_t last = *count < cap ? *count : cap - 1;
    for (int32_t i = last; i > pos; --i) {
        for (int k = 0; k < ROW; ++k) {
            cand[i * ROW + k] = cand[(i - 1) * ROW + k];
        }
    }
    for (int k = 0; k < ROW; ++k) {
        cand[pos * ROW + k] = row[k];
    }
    if (*count < cap) {
        ++*count;
    }
}

void mf_yolo_detect(const mf_yolo_params *p, const int8_t *const *heads, int32_t *out, void *scratch) {
    int32_t *cand = (int32_t *)scratch;
    int32_t count = 0, scan = 0;
    for (int32_t h = 0; h < p->num_heads; ++h) {
        const mf_yolo_head *hd = &p->heads[h];
        const int8_t *x = heads[h];
        int32_t per = 5 + hd->num_classes;
        for (int32_t gy = 0; gy < hd->grid_h; ++gy) {
            for (int32_t gx = 0; gx < hd->grid_w; ++gx) {
                for (int32_t a = 0; a < hd->num_anchors; ++a) {
                    const int8_t *v = x + ((gy * hd->grid_w + gx) * hd->num_anchors + a) * per;
                    int32_t obj = hd->sig[v[4] + 128];
                    for (int32_t c = 0; c < hd->num_classes; ++c, ++scan) {
                        int32_t score = obj * hd->sig[v[5 + c] + 128];
                        if (score < p->score_q30) {
                            continue;
                        }
                        int32_t cx = ((hd->sig[v[0] + 128] + (gx << 15)) * hd->stride) >> 7;
                        int32_t cy = ((hd->sig[v[1] + 128] + (gy << 15)) * hd->stride) >> 7;
                        int32_t w = hd->expo[v[2] + 128] * hd->anchors[2 * a];
                        int32_t bh = hd->expo[v[3] + 128] * hd->anchors[2 * a + 1];
                        int32_t x0 = cx - (w >> 1), y0 = cy - (bh >> 1);
                        int32_t x1 = x0 + w, y1 = y0 + bh;
                        int32_t row[ROW];
                        row[0] = x0 > 0 ? x0 : 0;
                        row[1] = y0 > 0 ? y0 : 0;
                        row[2] = x1 < (p->image_w << 8) ? x1 : (p->image_w << 8);
                        row[3] = y1 < (p->image_h << 8) ? y1 : (p->image_h << 8);
                        row[4] = score;
                        row[5] = c;
                        row[6] = scan;
                        insert(cand, &count, p->max_candidates, row);
                    }
                }
            }
        }
    }
    int32_t kept = 0;
    for (int32_t i = 0; i < count && kept < p->max_boxes; ++i) {
        const int32_t *r = cand + i * ROW;
        int drop = 0;
        for (int32_t k = 0; k < kept && !drop; ++k) {
            drop = out[k * 6 + 5] == r[5] && overlaps(out + k * 6, r, p->nms_q16);
        }
        if (!drop) {
            for (int j = 0; j < 6; ++j) {
                out[kept * 6 + j] = r[j];
            }
            ++kept;
        }
    }
    for (int32_t i = kept; i < p->max_boxes; ++i) {
        for (int j = 0; j < 5; ++j) {
            out[i * 6 + j] = 0;
        }
        out[i * 6 + 5] = -1;
    }
}

/* ------------------------------------------------------------ SSD (TFLite_Detection_PostProcess) */

static double from_bits(int64_t bits) {
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* DecodeCenterSizeBoxes: in double, rounded to float, as TF-Lite Micro computes it. */
static void ssd_decode(const mf_ssd_params *p, const int8_t *enc, float *boxes) {
    for (int32_t i = 0; i < p->num_boxes; ++i) {
        const int8_t *e = enc + i * p->box_stride;
        const float *a = p->anchors + 4 * i;
        float y = (float)((double)p->box_scale * (double)(e[0] - p->box_zero_point));
        float x = (float)((double)p->box_scale * (double)(e[1] - p->box_zero_point));
        float yc = (float)((double)y / (double)p->y_scale * (double)a[2] + (double)a[0]);
        float xc = (float)((double)x / (double)p->x_scale * (double)a[3] + (double)a[1]);
        float hh = (float)(from_bits(p->exp_h[e[2] + 128]) * (double)a[2]);
        float hw = (float)(from_bits(p->exp_w[e[3] + 128]) * (double)a[3]);
        float *b = boxes + 4 * i;
        b[0] = yc - hh;
        b[1] = xc - hw;
        b[2] = yc + hh;
        b[3] = xc + hw;
    }
}

/* std::max<float> and std::min<float>, NaN cases included. */
static float fmax_std(float a, float b) { return a < b ? b : a; }
static float fmin_std(float a, float b) { return b < a ? b : a; }

/* ComputeIntersectionOverUnion, in float. */
static float ssd_iou(const float *bi, const float *bj) {
    float area_i = (bi[2] - bi[0]) * (bi[3] - bi[1]);
    float area_j = (bj[2] - bj[0]) * (bj[3] - bj[1]);
    if (area_i <= 0 || area_j <= 0) {
        return 0.0f;
    }
    float ih = fmax_std(fmin_std(bi[2], bj[2]) - fmax_std(bi[0], bj[0]), 0.0f);
    float iw = fmax_std(fmin_std(bi[3], bj[3]) - fmax_std(bi[1], bj[1]), 0.0f);
    float inter = ih * iw;
    return inter / (area_i + area_j - inter);
}

/* The boxes whose key (a score rank) is below `kept`, by rank, equal ranks in box order
 * (a stable counting sort: TF-Lite Micro's stable merge sort on the scores). */
static int32_t ssd_sort(const uint8_t *key, int32_t n, int32_t kept, int32_t *count, int32_t *order) {
    for (int32_t r = 0; r <= kept; ++r) {
        count[r] = 0;
    }
    for (int32_t i = 0; i < n; ++i) {
        if (key[i] < kept) {
            ++count[key[i] + 1];
        }
    }
    for (int32_t r = 1; r <= kept; ++r) {
        count[r] += count[r - 1];
    }
    for (int32_t i = 0; i < n; ++i) {
        if (key[i] < kept) {
            order[count[key[i]]++] = i;
        }
    }
    return kept > 0 ? count[kept - 1] : 0;
}

/* NonMaxSuppressionSingleClassHelper on the sorted candidates: the kept boxes move to the
 * front of `order` (best first, at most `limit`); a suppressed one is marked -1. */
static int32_t ssd_nms(const float *boxes, int32_t *order, int32_t n, int32_t limit, float thr) {
    int32_t sel = 0, out = n < limit ? n : limit;
    for (int32_t i = 0; i < n && sel < out; ++i) {
        int32_t b = order[i];
        if (b < 0) {
            continue;
        }
        order[sel++] = b;
        for (int32_t j = i + 1; j < n; ++j) {
            if (order[j] >= 0 && ssd_iou(boxes + 4 * b, boxes + 4 * order[j]) > thr) {
                order[j] = -1;
            }
        }
    }
    return sel;
}

static void ssd_row(const mf_ssd_params *p, const float *boxes, const int8_t *scores, int32_t row, int32_t box,
                    int32_t cls, float *det_boxes, float *det_classes, float *det_scores) {
    for (int k = 0; k < 4; ++k) {
        det_boxes[4 * row + k] = boxes[4 * box + k];
    }
    det_classes[row] = (float)cls;
    det_scores[row] = p->score[scores[box * p->score_stride + cls + p->label_offset] + 128];
}

void mf_ssd_detect(const mf_ssd_params *p, const int8_t *boxes, const int8_t *scores, float *det_boxes,
                   float *det_classes, float *det_scores, float *num_detections, void *scratch) {
    const int32_t n = p->num_boxes, cs = p->score_stride, off = p->label_offset, d = p->max_detections;
    float *decoded = (float *)scratch;
    int32_t *order = (int32_t *)(decoded + 4 * n);
    int32_t *count = order + n;
    int32_t *top = count + 257, *tmp = top + d;
    uint8_t *key = (uint8_t *)(tmp + d);
    int32_t rows = d * p->max_classes_per_detection, found = 0;
    for (int32_t r = 0; r < rows; ++r) {
        det_boxes[4 * r] = det_boxes[4 * r + 1] = det_boxes[4 * r + 2] = det_boxes[4 * r + 3] = 0.0f;
        det_classes[r] = det_scores[r] = 0.0f;
    }
    ssd_decode(p, boxes, decoded);
    if (p->use_regular_nms) {
        for (int32_t c = 0; c < p->num_classes; ++c) {
            for (int32_t i = 0; i < n; ++i) {
                key[i] = p->rank[scores[i * cs + c + off] + 128];
            }
            int32_t sel = ssd_nms(decoded, order, ssd_sort(key, n, p->ranks_kept, count, order),
                                  p->detections_per_class, p->iou_threshold);
            /* Merge into the running top list by score; equal scores keep the earlier entry. */
            int32_t a = 0, b = 0, m = 0;
            while (m < d && (a < found || b < sel)) {
                if (b >= sel || (a < found && p->rank[scores[top[a]] + 128] <= key[order[b]])) {
                    tmp[m++] = top[a++];
                } else {
                    tmp[m++] = order[b++] * cs + c + off;
                }
            }
            for (int32_t i = 0; i < m; ++i) {
                top[i] = tmp[i];
            }
            found = m;
        }
        for (int32_t r = 0; r < found; ++r) {
            int32_t box = top[r] / cs;
            ssd_row(p, decoded, scores, r, box, top[r] - box * cs - off, det_boxes, det_classes, det_scores);
        }
    } else {
        int32_t k = p->max_classes_per_detection < p->num_classes ? p->max_classes_per_detection : p->num_classes;
        for (int32_t i = 0; i < n; ++i) {
            uint8_t best = 255;
            for (int32_t c = 0; c < p->num_classes; ++c) {
                uint8_t r = p->rank[scores[i * cs + c + off] + 128];
                best = r < best ? r : best;
            }
            key[i] = best;
        }
        found = ssd_nms(decoded, order, ssd_sort(key, n, p->ranks_kept, count, order), d, p->iou_threshold);
        for (int32_t t = 0; t < found; ++t) {
            const int8_t *s = scores + order[t] * cs + off;
            int32_t prev_rank = -1, prev_cls = -1;
            for (int32_t col = 0; col < k; ++col) { /* the col-th class by (rank, class index) */
                int32_t pick = -1, pick_rank = 256;
                for (int32_t c = 0; c < p->num_classes; ++c) {
                    int32_t r = p->rank[s[c] + 128];
                    int after = r > prev_rank || (r == prev_rank && c > prev_cls);
                    if (after && r < pick_rank) {
                        pick = c;
                        pick_rank = r;
                    }
                }
                ssd_row(p, decoded, scores, t * p->max_classes_per_detection + col, order[t], pick, det_boxes,
                        det_classes, det_scores);
                prev_rank = pick_rank;
                prev_cls = pick;
            }
        }
    }
    *num_detections = (float)found;
}
