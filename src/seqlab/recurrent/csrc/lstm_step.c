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

#include <math.h>
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

/* ---- The layer-norm LSTM (Ba et al. 2016); the equations are ln_lstm_bptt.py's. Gate order i, f, g, o
 * (no peephole, no coupling), gx_t has no bias (β does that job).
 *
 * What a step saves for the backward, per batch row, in one block of LN_ROW(H) floats:
 *   [ n: the gates' normalised pre-activations, 4H | the activations i, f, g, o, 4H | s_t, H |
 *     m_t: the normalised cell, H | 1/σ of each gate, 4 | 1/σ of the cell, 1 | padding, 3 ] */

#define LN_ROW(H) (10 * (H) + 8)

static inline float mean_(idx H, const float *restrict x) {
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (idx j = 0; j < H; ++j) sum += x[j];
    return sum / (float)H;
}

/* x ← (x − μ(x)) / σ(x) in place, σ = √(biased var + eps); returns 1/σ. Two passes, like torch. */
static float normalize_(idx H, float *x, float eps) {
    const float mu = mean_(H, x);
    float var = 0.0f;
#pragma omp simd reduction(+ : var)
    for (idx j = 0; j < H; ++j) var += (x[j] - mu) * (x[j] - mu);
    const float r = 1.0f / sqrtf(var / (float)H + eps);
    for (idx j = 0; j < H; ++j) x[j] = (x[j] - mu) * r;
    return r;
}

/* i, f, o = σ(γ n + β), g = tanh(γ n + β) gate by gate; c_t = f c_{t-1} + i g, also copied to m (to be
 * normalised in place). Its own function: gcc vectorises these loops only with restrict parameters. */
static void ln_gates_(idx H, const float *restrict n, const float *restrict gamma,
                      const float *restrict beta, float *restrict act, const float *restrict cp,
                      float *restrict ct, float *restrict m) {
    for (idx j = 0; j < H; ++j) {
        float i = sigmoid_(gamma[j] * n[j] + beta[j]);
        float f = sigmoid_(gamma[H + j] * n[H + j] + beta[H + j]);
        float g = tanh_(gamma[2 * H + j] * n[2 * H + j] + beta[2 * H + j]);
        float o = sigmoid_(gamma[3 * H + j] * n[3 * H + j] + beta[3 * H + j]);
        act[j] = i, act[H + j] = f, act[2 * H + j] = g, act[3 * H + j] = o;
        ct[j] = m[j] = f * cp[j] + i * g;
    }
}

/* s = tanh(γ_c m + β_c), h_t = o s. */
static void ln_output_(idx H, const float *restrict m, const float *restrict gamma_c,
                       const float *restrict beta_c, const float *restrict o, float *restrict s,
                       float *restrict h) {
    for (idx j = 0; j < H; ++j) {
        s[j] = tanh_(gamma_c[j] * m[j] + beta_c[j]);
        h[j] = o[j] * s[j];
    }
}

/* Forward, one batch row: a = y + x (y = W_hh h_{t-1}, x = gx_t), n_k = LN(a_k) per gate,
 * i, f, o = σ(γ n + β), g = tanh(γ n + β), c_t = f c_{t-1} + i g, m = LN(c_t), s = tanh(γ_c m + β_c),
 * h_t = o s. */
static void ln_forward_row(idx H, float eps, const float *restrict y, const float *restrict x,
                           float *restrict sv, const float *restrict cp, float *restrict ct,
                           float *restrict h, const float *restrict gamma, const float *restrict beta,
                           const float *restrict gamma_c, const float *restrict beta_c) {
    float *n = sv, *act = sv + 4 * H, *s = sv + 8 * H, *m = sv + 9 * H, *r = sv + 10 * H;
    for (idx j = 0; j < 4 * H; ++j) n[j] = y[j] + x[j];
    for (int k = 0; k < 4; ++k) r[k] = normalize_(H, n + k * H, eps);
    ln_gates_(H, n, gamma, beta, act, cp, ct, m);
    r[4] = normalize_(H, m, eps);
    ln_output_(H, m, gamma_c, beta_c, act + 3 * H, s, h);
}

/* LNᵀ in place: δ ← r (δ − mean(δ) − n mean(δ n)), the layer norm's backward for x̂ = n, 1/σ = r. */
static void ln_backward_(idx H, float *d, const float *n, float r) {
    float s1 = 0.0f, s2 = 0.0f;
#pragma omp simd reduction(+ : s1, s2)
    for (idx j = 0; j < H; ++j) s1 += d[j], s2 += d[j] * n[j];
    const float m1 = s1 / (float)H, m2 = s2 / (float)H;
    for (idx j = 0; j < H; ++j) d[j] = r * (d[j] - m1 - n[j] * m2);
}

/* Backward, one batch row. δh_t = y + dh_out (y = W_hhᵀ δa_{t+1}); dc holds δc_t from step t+1 and
 * leaves holding δc_{t-1} + dc_out. d receives δa_t (4H); acc gathers this row's parameter gradients
 * [∂γ 4H | ∂β 4H | ∂γ_c H | ∂β_c H].
 *   δĉ = δh o (1 − s²);  δc += LNᵀ(γ_c δĉ; m, r_c)
 *   δâ_i = δc g i(1 − i),  δâ_f = δc c_{t-1} f(1 − f),  δâ_g = δc i (1 − g²),  δâ_o = δh s o(1 − o)
 *   δa_k = LNᵀ(γ_k δâ_k; n_k, r_k);  δc_{t-1} = δc f */
static void ln_backward_row(idx H, const float *restrict sv, const float *restrict cp,
                            const float *restrict y, const float *restrict dh_out, float *restrict dc,
                            const float *restrict dc_out, float *restrict d,
                            const float *restrict gamma, const float *restrict gamma_c,
                            float *restrict acc) {
    const float *n = sv, *act = sv + 4 * H, *s = sv + 8 * H, *m = sv + 9 * H, *r = sv + 10 * H;
    float *d_gamma = acc, *d_beta = acc + 4 * H, *d_gamma_c = acc + 8 * H, *d_beta_c = acc + 9 * H;
    float *cell = d; /* γ_c δĉ, kept in the i block until δâ_i overwrites it, element by element */
    for (idx j = 0; j < H; ++j) {
        float dh = y[j] + dh_out[j], o = act[3 * H + j];
        float dch = dh * o * (1.0f - s[j] * s[j]);
        d_gamma_c[j] += dch * m[j], d_beta_c[j] += dch;
        cell[j] = gamma_c[j] * dch;
        d[3 * H + j] = dh * s[j] * o * (1.0f - o); /* δâ_o */
    }
    ln_backward_(H, cell, m, r[4]);
    for (idx j = 0; j < H; ++j) {
        float i = act[j], f = act[H + j], g = act[2 * H + j];
        float dct = dc[j] + cell[j];
        d[j] = dct * g * i * (1.0f - i);
        d[H + j] = dct * cp[j] * f * (1.0f - f);
        d[2 * H + j] = dct * i * (1.0f - g * g);
        dc[j] = dct * f + dc_out[j];
    }
    for (idx j = 0; j < 4 * H; ++j) {
        d_gamma[j] += d[j] * n[j], d_beta[j] += d[j];
        d[j] *= gamma[j];
    }
    for (int k = 0; k < 4; ++k) ln_backward_(H, d + k * H, n + k * H, r[k]);
}

/* The exported LN steps. saved: this step's block, LN_ROW(H) floats per batch row; acc: LN_ACC(H)
 * floats per batch row; c_{t-1}, c_t and h_t are rows of (B, T + 1, H) buffers, stride c_s / h_s. */
#define LN_ACC(H) (10 * (H))

idx seqlab_ln_row_floats(idx H) { return LN_ROW(H); }

void seqlab_ln_lstm_forward_step(idx B, idx H, float eps, const float *y, idx y_s, const float *x,
                                 idx x_s, float *saved, const float *c_prev, float *c, idx c_s,
                                 float *h, idx h_s, const float *gamma, const float *beta,
                                 const float *gamma_c, const float *beta_c) {
#pragma omp parallel for schedule(static) if (B * H >= PARALLEL_MIN)
    for (idx b = 0; b < B; ++b)
        ln_forward_row(H, eps, y + b * y_s, x + b * x_s, saved + b * LN_ROW(H), c_prev + b * c_s,
                       c + b * c_s, h + b * h_s, gamma, beta, gamma_c, beta_c);
}

void seqlab_ln_lstm_backward_step(idx B, idx H, const float *saved, const float *c_prev, idx c_s,
                                  const float *y, idx y_s, const float *dh_out, idx dho_s, float *dc,
                                  idx dc_s, const float *dc_out, idx dco_s, float *delta, idx d_s,
                                  const float *gamma, const float *gamma_c, float *acc) {
#pragma omp parallel for schedule(static) if (B * H >= PARALLEL_MIN)
    for (idx b = 0; b < B; ++b)
        ln_backward_row(H, saved + b * LN_ROW(H), c_prev + b * c_s, y + b * y_s, dh_out + b * dho_s,
                        dc + b * dc_s, dc_out + b * dco_s, delta + b * d_s, gamma, gamma_c,
                        acc + b * LN_ACC(H));
}
