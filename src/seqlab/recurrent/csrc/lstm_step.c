/* One time step of the peephole / coupled LSTM, forward and backward, as single fused loops.
 *
 * The equations are those of seqlab/recurrent/lstm_bptt.py (its docstring is the reference); this file
 * only does, in one pass over memory, what that file does in ten torch kernels per step. The matrix
 * products (W_hh h_{t-1} forward, W_hhᵀ δa_t backward) stay with torch: they are oneDNN's job. What
 * is elementwise over the (B, H) units of one step is here, including adding the product to the input
 * projection (forward) and to the output's own gradient (backward).
 *
 * Layout. Gate blocks are G = 4 (i, f, g, o) or 3 when coupled (f, g, o), each H wide; a row of
 * pre-activations, activations or their gradients holds the G blocks back to back. Every (B, ·) operand
 * is passed as a pointer plus the stride, in floats, between consecutive batch rows, so views into
 * (B, T, ·) buffers need no copies. A stride of 0 broadcasts one row to the whole batch (how "no
 * peephole" and "no outside gradient" are passed: a row of zeros).
 *
 * Batch rows are split between threads with OpenMP when the build has it (native.py compiles with
 * -fopenmp only when the process already runs torch's libgomp, so both share one thread pool and
 * torch.set_num_threads governs both); below PARALLEL_MIN elements a step is too small to split.
 *
 * tanh is Eigen's rational approximation (max error 3.5e-7 over the reals), which vectorises as plain
 * arithmetic; σ(x) = ½ + ½ tanh(x/2). Both propagate NaN.
 */

#include <stddef.h>

typedef long idx; /* strides and sizes, in floats */

#define PARALLEL_MIN 4096

static inline float tanh_(float x) {
    const float limit = 7.90531110763549805f;
    float xc = x < -limit ? -limit : (x > limit ? limit : x);
    float x2 = xc * xc;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 + -8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    float r = xc * p / q;
    float ax = x < 0.0f ? -x : x;
    return ax < 0.0004f ? x : r; /* tanh x = x to float precision; NaN fails both tests: r is NaN */
}

static inline float sigmoid_(float x) { return 0.5f + 0.5f * tanh_(0.5f * x); }

/* For the tests: y[k] = tanh(x[k]) and s[k] = σ(x[k]). */
void seqlab_tanh_sigmoid(idx n, const float *restrict x, float *restrict y, float *restrict s) {
    for (idx k = 0; k < n; ++k) {
        y[k] = tanh_(x[k]);
        s[k] = sigmoid_(x[k]);
    }
}

/* Forward, one batch row. In: y = W_hh h_{t-1} and x = gx_t (= W_ih x_t + b), G·H each. Out: the
 * activations a = (i,) f, g, o; c_t, tanh(c_t) and h_t.
 *   i = σ(y_i + x_i + p_i c_{t-1}),  f = σ(y_f + x_f + p_f c_{t-1}),  g = tanh(y_g + x_g)
 *   c_t = f c_{t-1} + i g,  o = σ(y_o + x_o + p_o c_t),  h_t = o tanh(c_t)      (coupled: i = 1 − f) */
static void forward_row(idx H, const float *restrict y, const float *restrict x, float *restrict a,
                        const float *restrict cp, float *restrict ct, float *restrict tc,
                        float *restrict h, const float *restrict p_i, const float *restrict p_f,
                        const float *restrict p_o) {
    for (idx j = 0; j < H; ++j) {
        float i = sigmoid_(y[j] + x[j] + p_i[j] * cp[j]);
        float f = sigmoid_(y[H + j] + x[H + j] + p_f[j] * cp[j]);
        float g = tanh_(y[2 * H + j] + x[2 * H + j]);
        float c = f * cp[j] + i * g;
        float o = sigmoid_(y[3 * H + j] + x[3 * H + j] + p_o[j] * c);
        float t = tanh_(c);
        a[j] = i, a[H + j] = f, a[2 * H + j] = g, a[3 * H + j] = o;
        ct[j] = c, tc[j] = t, h[j] = o * t;
    }
}

static void forward_row_coupled(idx H, const float *restrict y, const float *restrict x,
                                float *restrict a, const float *restrict cp, float *restrict ct,
                                float *restrict tc, float *restrict h, const float *restrict p_f,
                                const float *restrict p_o) {
    for (idx j = 0; j < H; ++j) {
        float f = sigmoid_(y[j] + x[j] + p_f[j] * cp[j]);
        float g = tanh_(y[H + j] + x[H + j]);
        float c = g + f * (cp[j] - g); /* f c_{t-1} + (1 − f) g */
        float o = sigmoid_(y[2 * H + j] + x[2 * H + j] + p_o[j] * c);
        float t = tanh_(c);
        a[j] = f, a[H + j] = g, a[2 * H + j] = o;
        ct[j] = c, tc[j] = t, h[j] = o * t;
    }
}

/* Backward, one batch row. In: the step's activations a, c_{t-1}, c_t, tanh(c_t); δh_t as the sum of
 * y = W_hhᵀ δa_{t+1} and dh_out (the gradient of the output h_t from outside); dc = δc_t from step
 * t+1. Out: d = δa_t (G·H); dc overwritten with δc_{t-1} plus dc_out (the gradient of the output c_{t-1}
 * from outside); this row's peephole gradients added to dp_{i,f,o}.
 *   δa_o = δh tanh(c_t) o(1 − o)
 *   δc  += δh o (1 − tanh²(c_t)) + p_o δa_o
 *   δa_i = δc g i(1 − i),  δa_f = δc c_{t-1} f(1 − f),  δa_g = δc i (1 − g²)
 *   δc_{t-1} = δc f + p_i δa_i + p_f δa_f
 *   ∂L/∂p_{i,f} += δa_{i,f} c_{t-1},  ∂L/∂p_o += δa_o c_t */
static void backward_row(idx H, const float *restrict a, const float *restrict cp,
                         const float *restrict ct, const float *restrict tc, const float *restrict y,
                         const float *restrict dh_out, float *restrict dc,
                         const float *restrict dc_out, float *restrict d, const float *restrict p_i,
                         const float *restrict p_f, const float *restrict p_o, float *restrict dp) {
    for (idx j = 0; j < H; ++j) {
        float i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j], t = tc[j];
        float dh = y[j] + dh_out[j];
        float dao = dh * t * o * (1.0f - o);
        float dct = dc[j] + dh * o * (1.0f - t * t) + p_o[j] * dao;
        float dai = dct * g * i * (1.0f - i);
        float daf = dct * cp[j] * f * (1.0f - f);
        d[j] = dai, d[H + j] = daf, d[2 * H + j] = dct * i * (1.0f - g * g), d[3 * H + j] = dao;
        dc[j] = dct * f + p_i[j] * dai + p_f[j] * daf + dc_out[j];
        dp[j] += dai * cp[j], dp[H + j] += daf * cp[j], dp[2 * H + j] += dao * ct[j];
    }
}

/* Coupled (i = 1 − f): δa_f = δc (c_{t-1} − g) f(1 − f), δa_g = δc (1 − f)(1 − g²). */
static void backward_row_coupled(idx H, const float *restrict a, const float *restrict cp,
                                 const float *restrict ct, const float *restrict tc,
                                 const float *restrict y, const float *restrict dh_out,
                                 float *restrict dc, const float *restrict dc_out, float *restrict d,
                                 const float *restrict p_f, const float *restrict p_o,
                                 float *restrict dp) {
    for (idx j = 0; j < H; ++j) {
        float f = a[j], g = a[H + j], o = a[2 * H + j], t = tc[j];
        float dh = y[j] + dh_out[j];
        float dao = dh * t * o * (1.0f - o);
        float dct = dc[j] + dh * o * (1.0f - t * t) + p_o[j] * dao;
        float daf = dct * (cp[j] - g) * f * (1.0f - f);
        d[j] = daf, d[H + j] = dct * (1.0f - f) * (1.0f - g * g), d[2 * H + j] = dao;
        dc[j] = dct * f + p_f[j] * daf + dc_out[j];
        dp[j] += daf * cp[j], dp[H + j] += dao * ct[j];
    }
}

/* The exported steps: loops over the batch rows. Every *_s is a stride in floats between batch rows.
 * peep holds G − 1 rows (p_i, p_f, p_o; or p_f, p_o) peep_s apart; a zero row with peep_s = 0 means no
 * peepholes. c_{t-1} and c_t share the stride c_s (both are rows of one (B, T + 1, H) buffer). dpeep
 * holds, per batch row, G − 1 rows of H running sums: the peephole gradients, each thread adding only
 * to its own rows. */
void seqlab_lstm_forward_step(idx B, idx H, int coupled, const float *y, idx y_s, const float *x,
                              idx x_s, float *a, idx a_s, const float *c_prev, float *c, idx c_s,
                              float *tanh_c, idx tc_s, float *h, idx h_s, const float *peep,
                              idx peep_s) {
    const float *p_i = peep, *p_f = peep + (coupled ? 0 : peep_s), *p_o = p_f + peep_s;
#pragma omp parallel for schedule(static) if (B * H >= PARALLEL_MIN)
    for (idx b = 0; b < B; ++b) {
        const float *yb = y + b * y_s, *xb = x + b * x_s, *cp = c_prev + b * c_s;
        float *ab = a + b * a_s, *ct = c + b * c_s, *tc = tanh_c + b * tc_s, *hb = h + b * h_s;
        if (coupled)
            forward_row_coupled(H, yb, xb, ab, cp, ct, tc, hb, p_f, p_o);
        else
            forward_row(H, yb, xb, ab, cp, ct, tc, hb, p_i, p_f, p_o);
    }
}

void seqlab_lstm_backward_step(idx B, idx H, int coupled, const float *a, idx a_s,
                               const float *c_prev, const float *c, idx c_s, const float *tanh_c,
                               idx tc_s, const float *y, idx y_s, const float *dh_out, idx dho_s,
                               float *dc, idx dc_s, const float *dc_out, idx dco_s, float *delta,
                               idx d_s, const float *peep, idx peep_s, float *dpeep, idx dpeep_s) {
    const float *p_i = peep, *p_f = peep + (coupled ? 0 : peep_s), *p_o = p_f + peep_s;
#pragma omp parallel for schedule(static) if (B * H >= PARALLEL_MIN)
    for (idx b = 0; b < B; ++b) {
        const float *ab = a + b * a_s, *cp = c_prev + b * c_s, *ct = c + b * c_s, *tc = tanh_c + b * tc_s;
        const float *yb = y + b * y_s, *dho = dh_out + b * dho_s, *dco = dc_out + b * dco_s;
        float *dcb = dc + b * dc_s, *d = delta + b * d_s, *dp = dpeep + b * dpeep_s;
        if (coupled)
            backward_row_coupled(H, ab, cp, ct, tc, yb, dho, dcb, dco, d, p_f, p_o, dp);
        else
            backward_row(H, ab, cp, ct, tc, yb, dho, dcb, dco, d, p_i, p_f, p_o, dp);
    }
}
