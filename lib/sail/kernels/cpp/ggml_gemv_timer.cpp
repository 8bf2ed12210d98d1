// ggml_gemv_timer: times llama.cpp's own CPU GEMV (ggml_mul_mat on the ggml CPU backend) for the
// SAIL kernel benchmark (lib/sail/kernels/bench.py), one call at a time, driven over stdin/stdout.
//
// Why a driven process and not a self-contained loop: the benchmark interleaves every candidate of a
// (shape, batch, threads) group within each repetition, ours and llama.cpp's, so slow phases of a shared
// machine hit all of them alike; Python sends "run <id> <copy>", this process times exactly one
// ggml_backend_graph_compute (steady_clock around the call; the pipe round trip is outside the timer) and
// answers with the seconds.
//
// Weights: `add` quantises Gaussian random rows with ggml_quantize_chunk (values do not change the speed;
// 512 distinct rows are quantised and tiled over M to keep set-up short) and stores n_copies copies at
// distinct addresses (the caller sizes n_copies so the copies exceed the L3 several times). repack=1 makes
// llama.cpp's default choice for weights: the CPU backend's CPU_REPACK extra buffer type when it supports
// the mul_mat for this type on this CPU (ggml then repacks on tensor_set into an interleaved layout),
// otherwise the plain CPU buffer; the answer says which (repacked 0|1 and the buffer type name).
//
// Protocol (one command per line; one answer line each; errors answer "err <message>"):
//   info                                   -> "ok commit=<ggml commit> version=<ggml version> compiler=<..> features=<..>"
//   threads <n>                            -> "ok"
//   add <type> <repack 0|1> <m> <k> <batch> <n_copies> <seed> [<hugepages 0|1>]
//                                          -> "ok <id> <weight bytes of one copy> <bits per weight> <repacked 0|1> <buft>"
//   run <id> <copy>                        -> "<seconds>"
//   check <id>                             -> "<relative rms error of copy 0 vs a float64 product of the
//                                              dequantised weights and the fp32 activations>"
//   free <id>                              -> "ok"
//   quit
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "ggml.h"

#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Candidate {
    ggml_type type;
    int64_t m = 0, k = 0, batch = 0;
    bool repacked = false;
    std::string buft;
    ggml_context *ctx_w = nullptr, *ctx_c = nullptr;
    ggml_backend_buffer_t buf_w = nullptr, buf_c = nullptr;
    std::vector<ggml_cgraph *> graphs;
    std::vector<ggml_tensor *> outs;
    ggml_tensor *x = nullptr;
    std::vector<uint8_t> q0;   // quantised data of copy 0 (plain layout) for `check`
    std::vector<float> xv;     // activations (K x batch, fp32)
    size_t copy_bytes = 0;

    ~Candidate() {
        if (buf_c) ggml_backend_buffer_free(buf_c);
        if (buf_w) ggml_backend_buffer_free(buf_w);
        if (ctx_c) ggml_free(ctx_c);
        if (ctx_w) ggml_free(ctx_w);
    }
};

ggml_backend_t g_backend = nullptr;
std::map<int, std::unique_ptr<Candidate>> g_cands;
int g_next_id = 0;

bool type_from_name(const std::string &name, ggml_type *out) {
    for (int t = 0; t < GGML_TYPE_COUNT; ++t) {
        const char *n = ggml_type_name((ggml_type)t);
        if (n && ggml_get_type_traits((ggml_type)t)->blck_size > 0 && strcasecmp(n, name.c_str()) == 0) {
            *out = (ggml_type)t;
            return true;
        }
    }
    return false;
}

std::string known_types() {
    std::string s;
    for (int t = 0; t < GGML_TYPE_COUNT; ++t) {
        const char *n = ggml_type_name((ggml_type)t);
        const ggml_type_traits *tr = ggml_get_type_traits((ggml_type)t);
        if (n && tr->blck_size > 0 && (tr->is_quantized || t == GGML_TYPE_F32 || t == GGML_TYPE_F16) &&
            !ggml_quantize_requires_imatrix((ggml_type)t)) {
            s += (s.empty() ? "" : ",");
            s += n;
        }
    }
    return s;
}

ggml_backend_buffer_type_t repack_buft() {
    ggml_backend_reg_t reg = ggml_backend_cpu_reg();
    auto fn = (ggml_backend_dev_get_extra_bufts_t)ggml_backend_reg_get_proc_address(reg, "ggml_backend_dev_get_extra_bufts");
    if (!fn) return nullptr;
    for (ggml_backend_buffer_type_t *b = fn(ggml_backend_reg_dev_get(reg, 0)); b && *b; ++b) {
        if (strcmp(ggml_backend_buft_name(*b), "CPU_REPACK") == 0) return *b;
    }
    return nullptr;
}

// llama.cpp's weight buffer choice (llama-model-loader.cpp, weight_buft_supported): an extra buffer type is
// used for a weight when the CPU device supports the op with the weight in a (zero-size) buffer of that type.
bool repack_supported(ggml_backend_buffer_type_t rb, ggml_type type, int64_t m, int64_t k, int64_t batch) {
    ggml_init_params p = {ggml_tensor_overhead() * 4 + 1024, nullptr, true};
    ggml_context *ctx = ggml_init(p);
    ggml_tensor *w = ggml_new_tensor_2d(ctx, type, k, m);
    ggml_tensor *x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, k, batch);
    ggml_tensor *op = ggml_mul_mat(ctx, w, x);
    w->buffer = ggml_backend_buft_alloc_buffer(rb, 0);
    const bool ok = ggml_backend_dev_supports_op(ggml_backend_reg_dev_get(ggml_backend_cpu_reg(), 0), op);
    ggml_backend_buffer_free(w->buffer);
    w->buffer = nullptr;
    ggml_free(ctx);
    return ok;
}

std::string features() {
    std::string s;
    auto add = [&](const char *n, int v) { if (v) { s += (s.empty() ? "" : ","); s += n; } };
    add("avx2", ggml_cpu_has_avx2());
    add("fma", ggml_cpu_has_fma());
    add("f16c", ggml_cpu_has_f16c());
    add("avx512", ggml_cpu_has_avx512());
    add("avx512_vbmi", ggml_cpu_has_avx512_vbmi());
    add("avx512_vnni", ggml_cpu_has_avx512_vnni());
    add("avx512_bf16", ggml_cpu_has_avx512_bf16());
    add("amx_int8", ggml_cpu_has_amx_int8());
    add("avx_vnni", ggml_cpu_has_avx_vnni());
    add("neon", ggml_cpu_has_neon());
    add("dotprod", ggml_cpu_has_dotprod());
    add("sve", ggml_cpu_has_sve());
    add("llamafile", ggml_cpu_has_llamafile());
    return s.empty() ? "none" : s;
}

std::string cmd_add(std::istringstream &in) {
    std::string tname;
    int repack = 0;
    long long m = 0, k = 0, batch = 0, n_copies = 0, seed = 0;
    if (!(in >> tname >> repack >> m >> k >> batch >> n_copies >> seed))
        return "err usage: add <type> <repack 0|1> <m> <k> <batch> <n_copies> <seed> [<hugepages 0|1>]";
    int hugepages = 0;
    in >> hugepages;  // optional
    auto c = std::make_unique<Candidate>();
    if (!type_from_name(tname, &c->type))
        return "err unknown ggml type '" + tname + "' (known: " + known_types() + ")";
    if (ggml_quantize_requires_imatrix(c->type))
        return "err ggml type '" + tname + "' needs an importance matrix to quantise; not supported here";
    const int64_t blck = ggml_blck_size(c->type);
    if (m < 1 || k < 1 || batch < 1 || n_copies < 1 || k % blck)
        return "err bad shape m=" + std::to_string(m) + " k=" + std::to_string(k) + " batch=" + std::to_string(batch) +
               " n_copies=" + std::to_string(n_copies) + " (K must be a multiple of " + std::to_string(blck) +
               " for " + tname + ")";
    c->m = m; c->k = k; c->batch = batch;
    ggml_backend_buffer_type_t buft = ggml_backend_cpu_buffer_type();
    if (repack) {
        ggml_backend_buffer_type_t rb = repack_buft();
        if (!rb) return "err this ggml build has no CPU_REPACK buffer type";
        if (repack_supported(rb, c->type, m, k, batch)) buft = rb;
    }

    // weights: n_copies tensors of the same values at distinct addresses
    ggml_init_params pw = {ggml_tensor_overhead() * (size_t)n_copies + 1024, nullptr, true};
    c->ctx_w = ggml_init(pw);
    std::vector<ggml_tensor *> ws;
    for (long long i = 0; i < n_copies; ++i) ws.push_back(ggml_new_tensor_2d(c->ctx_w, c->type, k, m));
    c->buf_w = ggml_backend_alloc_ctx_tensors_from_buft(c->ctx_w, buft);
    if (!c->buf_w) return "err could not allocate " + std::to_string(n_copies) + " copies of " + tname;
    ggml_backend_buffer_set_usage(c->buf_w, GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
    if (hugepages) {
        // transparent huge pages for the weights (the buffer is not touched yet, so the first writes fault
        // in 2 MiB pages where the kernel has them): the benchmark gives every candidate the same page regime
        const uintptr_t huge = 2u << 20;
        uintptr_t lo = ((uintptr_t)ggml_backend_buffer_get_base(c->buf_w) + huge - 1) & ~(huge - 1);
        uintptr_t hi = ((uintptr_t)ggml_backend_buffer_get_base(c->buf_w) + ggml_backend_buffer_get_size(c->buf_w)) & ~(huge - 1);
        if (hi > lo) madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
    }
    c->buft = ggml_backend_buft_name(buft);
    c->repacked = repack && ws[0]->extra != nullptr;  // CPU_REPACK leaves extra null when it has no layout

    const int64_t distinct = std::min<int64_t>(m, 512);
    std::mt19937_64 rng((uint64_t)seed);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> src((size_t)(distinct * k));
    for (auto &v : src) v = nd(rng);
    const size_t row = ggml_row_size(c->type, k);
    std::vector<uint8_t> qd(row * (size_t)distinct);
    ggml_quantize_chunk(c->type, src.data(), qd.data(), 0, distinct, k, nullptr);
    c->q0.resize(row * (size_t)m);
    for (int64_t r = 0; r < m; r += distinct) {
        const int64_t n = std::min<int64_t>(distinct, m - r);
        memcpy(c->q0.data() + row * (size_t)r, qd.data(), row * (size_t)n);
    }
    c->copy_bytes = ggml_nbytes(ws[0]);
    for (auto *w : ws) ggml_backend_tensor_set(w, c->q0.data(), 0, ggml_nbytes(w));

    // activations and one graph per copy
    const size_t n_graph = (size_t)n_copies;
    ggml_init_params pc = {ggml_tensor_overhead() * (n_graph + 2) + ggml_graph_overhead_custom(8, false) * n_graph + 4096,
                           nullptr, true};
    c->ctx_c = ggml_init(pc);
    c->x = ggml_new_tensor_2d(c->ctx_c, GGML_TYPE_F32, k, batch);
    for (auto *w : ws) c->outs.push_back(ggml_mul_mat(c->ctx_c, w, c->x));
    for (auto *y : c->outs) {
        ggml_cgraph *gf = ggml_new_graph_custom(c->ctx_c, 8, false);
        ggml_build_forward_expand(gf, y);
        c->graphs.push_back(gf);
    }
    c->buf_c = ggml_backend_alloc_ctx_tensors(c->ctx_c, g_backend);
    if (!c->buf_c) return "err could not allocate activations";
    c->xv.resize((size_t)(k * batch));
    for (auto &v : c->xv) v = nd(rng);
    ggml_backend_tensor_set(c->x, c->xv.data(), 0, ggml_nbytes(c->x));

    const int id = g_next_id++;
    const double bpw = 8.0 * (double)row / (double)k;
    std::ostringstream os;
    os.precision(6);
    os << "ok " << id << " " << c->copy_bytes << " " << bpw << " " << (c->repacked ? 1 : 0) << " " << c->buft;
    g_cands[id] = std::move(c);
    return os.str();
}

Candidate *find(std::istringstream &in, std::string *err) {
    int id = -1;
    if (!(in >> id) || !g_cands.count(id)) {
        *err = "err unknown candidate id " + std::to_string(id);
        return nullptr;
    }
    return g_cands[id].get();
}

std::string cmd_run(std::istringstream &in) {
    std::string err;
    Candidate *c = find(in, &err);
    if (!c) return err;
    long long copy = 0;
    if (!(in >> copy) || copy < 0) return "err usage: run <id> <copy>";
    ggml_cgraph *gf = c->graphs[(size_t)copy % c->graphs.size()];
    auto t0 = std::chrono::steady_clock::now();
    ggml_status st = ggml_backend_graph_compute(g_backend, gf);
    auto t1 = std::chrono::steady_clock::now();
    if (st != GGML_STATUS_SUCCESS) return "err graph_compute failed with status " + std::to_string((int)st);
    std::ostringstream os;
    os.precision(9);
    os << std::chrono::duration<double>(t1 - t0).count();
    return os.str();
}

std::string cmd_check(std::istringstream &in) {
    std::string err;
    Candidate *c = find(in, &err);
    if (!c) return err;
    if (ggml_backend_graph_compute(g_backend, c->graphs[0]) != GGML_STATUS_SUCCESS) return "err graph_compute failed";
    std::vector<float> y((size_t)(c->m * c->batch));
    ggml_backend_tensor_get(c->outs[0], y.data(), 0, y.size() * sizeof(float));  // ne0 = M, ne1 = batch
    const ggml_type_traits *tr = ggml_get_type_traits(c->type);
    const size_t row = ggml_row_size(c->type, c->k);
    std::vector<float> wrow((size_t)c->k);
    double num = 0.0, den = 0.0;
    for (int64_t r = 0; r < c->m; ++r) {
        tr->to_float(c->q0.data() + row * (size_t)r, wrow.data(), c->k);
        for (int64_t b = 0; b < c->batch; ++b) {
            double ref = 0.0;
            const float *xb = c->xv.data() + (size_t)(b * c->k);
            for (int64_t j = 0; j < c->k; ++j) ref += (double)wrow[(size_t)j] * (double)xb[j];
            const double d = (double)y[(size_t)(b * c->m + r)] - ref;
            num += d * d;
            den += ref * ref;
        }
    }
    std::ostringstream os;
    os.precision(9);
    os << std::sqrt(num / std::max(den, 1e-300));
    return os.str();
}

}  // namespace

int main() {
    // keep ggml's per-tensor "repack: ..." info lines out of the benchmark log; warnings and errors stay
    ggml_log_set([](ggml_log_level level, const char *text, void *) {
        if (level >= GGML_LOG_LEVEL_WARN) fputs(text, stderr);
    }, nullptr);
    ggml_cpu_init();
    g_backend = ggml_backend_cpu_init();
    if (!g_backend) {
        std::cout << "err could not initialise the ggml CPU backend" << std::endl;
        return 1;
    }
    ggml_backend_cpu_set_n_threads(g_backend, 1);
    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream in(line);
        std::string cmd;
        in >> cmd;
        std::string out;
        if (cmd == "quit") break;
        if (cmd == "info") {
            out = std::string("ok commit=") + ggml_commit() + " version=" + ggml_version() + " compiler=" +
                  std::string(__VERSION__).substr(0, std::string(__VERSION__).find(' ')) + " features=" + features();
        } else if (cmd == "threads") {
            int n = 0;
            if (!(in >> n) || n < 1) out = "err usage: threads <n >= 1>";
            else { ggml_backend_cpu_set_n_threads(g_backend, n); out = "ok"; }
        } else if (cmd == "add") {
            out = cmd_add(in);
        } else if (cmd == "run") {
            out = cmd_run(in);
        } else if (cmd == "check") {
            out = cmd_check(in);
        } else if (cmd == "free") {
            std::string err;
            int id = -1;
            in >> id;
            out = g_cands.erase(id) ? "ok" : "err unknown candidate id " + std::to_string(id);
        } else {
            out = "err unknown command '" + cmd + "'";
        }
        std::cout << out << std::endl;
    }
    g_cands.clear();
    ggml_backend_free(g_backend);
    return 0;
}
