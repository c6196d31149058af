/* Detection post-processing (see mf_detect.h and mcuforge/apps/yolo.py). */
#include "mf_detect.h"

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
