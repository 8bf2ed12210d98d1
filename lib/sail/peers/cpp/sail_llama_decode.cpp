// sail-llama-decode: llama.cpp's decode throughput, measured with libllama the way llama.cpp's own
// benchmark tools do it, without their `common` support library.
//
// Why not llama-batched-bench and llama-bench themselves: both link llama.cpp's `common` library
// (argument parsing, chat templates, JSON, an HTTP client), which is about 40 % of the whole build's
// compile time (2026-11-30: common + cpp-httplib 160 s of a 397 s build on 2 cores) and nothing of
// it is on the measured path. The two modes below copy the measured loops of those tools line for
// line (llama.cpp commit 0c1e57098, as vendored by llama-cpp-python 0.3.36):
//
//   batched  tools/batched-bench/batched-bench.cpp with -pps: one shared prompt of `pp` random tokens
//            decoded for sequence 0, copied to sequences 1..pl-1 (llama_memory_seq_cp), one dummy token
//            to apply the copy (non-unified KV cache), then `tg` steps that each decode one token of
//            every sequence; S_TG = pl * tg / T_TG. One JSON line per pl, with batched-bench's
//            --output-format jsonl keys.
//            Two options of ours, both off by default (then the loop is the tool's):
//            --prefill-once  the shared prompt is decoded once for all pl (the tool decodes it again for
//                            every pl); after each pl the decoded cells and the copies are removed, so
//                            every pl starts its `tg` steps from the same `pp` cached prompt tokens as the
//                            tool's. Prefill was 3/4 of the validation stage's time, for nothing measured.
//            --flush-mb N    before every decode step, read an N MiB buffer (one load per cache line) so
//                            weights and KV cache come from DRAM as in a full-depth model, where ~30 other
//                            blocks stream through the last-level cache between two reads of one block's
//                            weights; a model truncated to 2 blocks (~0.3-0.7 GB) otherwise partly lives in
//                            a large L3. Only the decode steps are timed, not the flushes.
//   tg       tools/llama-bench/llama-bench.cpp's `tg` test (-p 0 -n <tg>): one warm-up token, then
//            `reps` times: clear the KV cache, decode `tg` single tokens; avg_ts = mean of tg / t_rep.
//            One JSON array with llama-bench's -o json keys.
//
// Everything else is libllama's defaults, as in the tools (mmap, F16 KV cache, flash attention
// "auto"); --no-repack sets use_extra_bufts = false like the tools' --no-repack. Random token ids come
// from std::rand() with its default seed, as in the tools. The load log (stderr) names the weight
// buffers (e.g. "CPU_REPACK model buffer size").
//
// usage:
//   sail-llama-decode batched -m <gguf> -t <threads> -c <n_ctx> -b <n_batch> -ub <n_ubatch>
//                             -npp <pp> -ntg <tg> -npl <pl,pl,...> [--no-repack] [--prefill-once]
//                             [--flush-mb <MiB>]
//   sail-llama-decode tg      -m <gguf> -t <threads> -n <tg> -r <reps> [--no-repack]
//   sail-llama-decode info    (prints libllama's system info: the CPU features ggml was built for)
#include "llama.h"

#include <algorithm>
#include <chrono>
#include <clocale>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Args {
    std::string mode, model;
    int threads = 1, n_ctx = 0, n_batch = 2048, n_ubatch = 512, pp = 0, tg = 0, reps = 5;
    std::vector<int> pl;
    bool repack = true;
    bool prefill_once = false;
    int flush_mb = 0;
};

[[noreturn]] void usage_error(const std::string & msg) {
    std::fprintf(stderr, "sail-llama-decode: %s\n", msg.c_str());
    std::exit(2);
}

int to_int(const char * flag, const char * s) {
    char * end = nullptr;
    long v = std::strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < 0 || v > (1L << 30)) {
        usage_error(std::string("invalid value for ") + flag + ": '" + s + "'");
    }
    return static_cast<int>(v);
}

Args parse(int argc, char ** argv) {
    if (argc < 2) {
        usage_error("usage: sail-llama-decode batched|tg|info [options] (see the source header)");
    }
    Args a;
    a.mode = argv[1];
    for (int i = 2; i < argc; ++i) {
        std::string f = argv[i];
        if (f == "--no-repack") {
            a.repack = false;
            continue;
        }
        if (f == "--prefill-once") {
            a.prefill_once = true;
            continue;
        }
        if (i + 1 >= argc) {
            usage_error("missing value after " + f);
        }
        const char * v = argv[++i];
        if (f == "-m") {
            a.model = v;
        } else if (f == "-t") {
            a.threads = to_int("-t", v);
        } else if (f == "-c") {
            a.n_ctx = to_int("-c", v);
        } else if (f == "-b") {
            a.n_batch = to_int("-b", v);
        } else if (f == "-ub") {
            a.n_ubatch = to_int("-ub", v);
        } else if (f == "-npp") {
            a.pp = to_int("-npp", v);
        } else if (f == "-ntg" || f == "-n") {
            a.tg = to_int(f.c_str(), v);
        } else if (f == "--flush-mb") {
            a.flush_mb = to_int("--flush-mb", v);
        } else if (f == "-r") {
            a.reps = to_int("-r", v);
        } else if (f == "-npl") {
            std::string s = v;
            size_t start = 0;
            while (start <= s.size()) {
                size_t end = s.find(',', start);
                std::string item = s.substr(start, end == std::string::npos ? std::string::npos : end - start);
                a.pl.push_back(to_int("-npl", item.c_str()));
                if (end == std::string::npos) {
                    break;
                }
                start = end + 1;
            }
        } else {
            usage_error("unknown option " + f);
        }
    }
    if (a.mode != "info" && a.model.empty()) {
        usage_error("-m <gguf> is required");
    }
    if (a.threads < 1) {
        usage_error("-t must be >= 1");
    }
    return a;
}

// A llama_batch with llama.cpp's common_batch add/clear semantics (one sequence id per token).
struct Batch {
    llama_batch b;
    int cap;
    explicit Batch(int capacity) : b(llama_batch_init(capacity, 0, 1)), cap(capacity) {}
    ~Batch() { llama_batch_free(b); }
    void clear() { b.n_tokens = 0; }
    void add(llama_token id, llama_pos pos, llama_seq_id seq, bool logits) {
        if (b.n_tokens >= cap) {
            usage_error("batch capacity exceeded (raise -b)");
        }
        const int i = b.n_tokens++;
        b.token[i] = id;
        b.pos[i] = pos;
        b.n_seq_id[i] = 1;
        b.seq_id[i][0] = seq;
        b.logits[i] = logits;
    }
};

// batched-bench's decode_helper: decode in chunks of n_batch tokens.
bool decode_chunks(llama_context * ctx, const Batch & batch, int n_batch, bool synchronize) {
    for (int32_t i = 0; i < batch.b.n_tokens; i += n_batch) {
        const int32_t n = std::min(n_batch, batch.b.n_tokens - i);
        llama_batch view = {n, batch.b.token + i, nullptr, batch.b.pos + i, batch.b.n_seq_id + i,
                            batch.b.seq_id + i, batch.b.logits + i};
        const int ret = llama_decode(ctx, view);
        if (ret != 0) {
            std::fprintf(stderr, "sail-llama-decode: llama_decode failed, n_batch = %d, ret = %d\n", n_batch, ret);
            return false;
        }
        if (synchronize) {
            llama_synchronize(ctx);
        }
    }
    return true;
}

llama_model * load(const Args & a) {
    llama_model_params mp = llama_model_default_params();
    mp.use_extra_bufts = a.repack;
    llama_model * model = llama_model_load_from_file(a.model.c_str(), mp);
    if (model == nullptr) {
        std::fprintf(stderr, "sail-llama-decode: error: unable to load model %s\n", a.model.c_str());
        std::exit(1);
    }
    return model;
}

// Evicts the caches: one read per 64-byte line of a buffer several times the last-level cache.
struct CacheFlusher {
    std::vector<uint64_t> buf;
    volatile uint64_t sink = 0;  // the loads' sum is stored, so the compiler cannot drop them
    explicit CacheFlusher(int mib) : buf(size_t(mib) * (1u << 20) / sizeof(uint64_t), 1) {}
    void flush() {
        uint64_t s = 0;
        for (size_t i = 0; i < buf.size(); i += 64 / sizeof(uint64_t)) {
            s += buf[i];
        }
        sink = s;
    }
};

int run_batched(const Args & a) {
    if (a.pl.empty() || a.pp < 1 || a.tg < 1 || a.n_ctx < 1) {
        usage_error("batched needs -npl, -npp >= 1, -ntg >= 1 and -c >= 1");
    }
    llama_model * model = load(a);
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = a.n_ctx;
    cp.n_batch = a.n_batch;
    cp.n_ubatch = a.n_ubatch;
    cp.n_threads = a.threads;
    cp.n_threads_batch = a.threads;
    cp.n_seq_max = *std::max_element(a.pl.begin(), a.pl.end());
    llama_context * ctx = llama_init_from_model(model, cp);
    if (ctx == nullptr) {
        std::fprintf(stderr, "sail-llama-decode: error: failed to create the llama_context\n");
        return 1;
    }
    const int32_t n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    auto rand_token = [n_vocab]() -> llama_token { return std::rand() % n_vocab; };
    llama_memory_t mem = llama_get_memory(ctx);
    const int32_t n_kv_max = llama_n_ctx(ctx);
    Batch batch(std::max({a.n_batch, a.pp, *std::max_element(a.pl.begin(), a.pl.end()), 16}));

    for (int i = 0; i < 16; ++i) {  // warm up (batched-bench: 16 tokens of sequence 0)
        batch.add(rand_token(), i, 0, false);
    }
    if (!decode_chunks(ctx, batch, cp.n_batch, true)) {
        return 1;
    }
    CacheFlusher flusher(a.flush_mb);
    // the shared prompt: decoded for every pl (the tool), or once (--prefill-once)
    float t_pp_once = 0.0f;
    auto prefill = [&](float & t_pp) -> bool {
        batch.clear();
        for (int i = 0; i < a.pp; ++i) {
            batch.add(rand_token(), i, 0, i == a.pp - 1);
        }
        llama_memory_clear(mem, false);
        const int64_t t_pp_start = llama_time_us();
        if (!decode_chunks(ctx, batch, cp.n_batch, false)) {
            return false;
        }
        llama_synchronize(ctx);
        t_pp = (llama_time_us() - t_pp_start) / 1e6f;
        return true;
    };
    if (a.prefill_once && !prefill(t_pp_once)) {
        return 1;
    }
    for (int pl : a.pl) {
        const int pp = a.pp, tg = a.tg;
        const int n_ctx_req = pl * pp + pl * tg;  // -pps, non-unified KV cache
        if (n_ctx_req > n_kv_max) {
            std::fprintf(stderr, "sail-llama-decode: skipping pl = %d: needs %d KV cells > n_kv_max %d\n", pl,
                         n_ctx_req, n_kv_max);
            continue;
        }
        float t_pp = t_pp_once;
        if (!a.prefill_once && !prefill(t_pp)) {
            return 1;
        }
        for (int32_t s = 1; s < pl; ++s) {
            llama_memory_seq_cp(mem, 0, s, -1, -1);
        }
        batch.clear();  // one dummy token to apply the memory copy (non-unified cache), then dropped
        batch.add(rand_token(), pp, 0, true);
        if (!decode_chunks(ctx, batch, cp.n_batch, true)) {
            return 1;
        }
        llama_memory_seq_rm(mem, 0, pp, -1);
        int n_cached = 0;  // prompt cells every sequence starts its decode from: pl * pp in both modes
        for (int32_t s = 0; s < pl; ++s) {
            n_cached += llama_memory_seq_pos_max(mem, s) - llama_memory_seq_pos_min(mem, s) + 1;
        }

        int64_t t_tg_us = 0;  // the decode steps only (a flush before each is not timed)
        for (int i = 0; i < tg; ++i) {
            batch.clear();
            for (int j = 0; j < pl; ++j) {
                batch.add(rand_token(), pp + i, j, true);
            }
            if (a.flush_mb > 0) {
                flusher.flush();
            }
            const int64_t t0 = llama_time_us();
            if (!decode_chunks(ctx, batch, cp.n_batch, true)) {
                return 1;
            }
            t_tg_us += llama_time_us() - t0;
        }
        if (a.prefill_once) {  // back to the shared prompt alone in sequence 0
            llama_memory_seq_rm(mem, 0, pp, -1);
            for (int32_t s = 1; s < pl; ++s) {
                llama_memory_seq_rm(mem, s, -1, -1);
            }
        }
        const float t_tg = t_tg_us / 1e6f;
        const float t = t_pp + t_tg;
        std::printf(
            "{\"n_kv_max\": %d, \"n_batch\": %d, \"n_ubatch\": %d, \"flash_attn\": %d, \"is_pp_shared\": 1, "
            "\"n_gpu_layers\": 0, \"n_threads\": %d, \"n_threads_batch\": %d, \"pp\": %d, \"tg\": %d, \"pl\": %d, "
            "\"n_kv\": %d, \"t_pp\": %f, \"speed_pp\": %f, \"t_tg\": %f, \"speed_tg\": %f, \"t\": %f, \"speed\": %f, "
            "\"prefill_once\": %d, \"flush_mb\": %d, \"n_cached\": %d}\n",
            n_kv_max, a.n_batch, a.n_ubatch, int(cp.flash_attn_type), a.threads, a.threads, pp, tg, pl, n_ctx_req,
            t_pp, pp / t_pp, t_tg, pl * tg / t_tg, t, (pp + pl * tg) / t, int(a.prefill_once), a.flush_mb,
            n_cached);
        std::fflush(stdout);
    }
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}

// llama-bench's test_gen: n_gen single-token decodes of sequence 0 after what is in the cache.
bool gen_tokens(llama_context * ctx, const llama_vocab * vocab, int n_gen) {
    const int32_t n_vocab = llama_vocab_n_tokens(vocab);
    llama_token token = llama_vocab_get_add_bos(vocab) ? llama_vocab_bos(vocab) : std::rand() % n_vocab;
    Batch batch(1);
    llama_pos pos = llama_memory_seq_pos_max(llama_get_memory(ctx), 0) + 1;
    for (int i = 0; i < n_gen; ++i) {
        batch.clear();
        batch.add(token, pos++, 0, true);
        if (!decode_chunks(ctx, batch, 1, true)) {
            return false;
        }
        token = std::rand() % n_vocab;
    }
    return true;
}

int run_tg(const Args & a) {
    if (a.tg < 1 || a.reps < 1) {
        usage_error("tg needs -n >= 1 and -r >= 1");
    }
    llama_model * model = load(a);
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = a.tg;  // llama-bench: n_prompt + n_gen + n_depth
    cp.n_batch = 2048;
    cp.n_ubatch = 512;
    cp.n_threads = a.threads;
    cp.n_threads_batch = a.threads;
    llama_context * ctx = llama_init_from_model(model, cp);
    if (ctx == nullptr) {
        std::fprintf(stderr, "sail-llama-decode: error: failed to create the llama_context\n");
        return 1;
    }
    const llama_vocab * vocab = llama_model_get_vocab(model);
    if (!gen_tokens(ctx, vocab, 1)) {  // warm-up generation run
        return 1;
    }
    std::vector<double> ts;
    for (int r = 0; r < a.reps; ++r) {
        llama_memory_clear(llama_get_memory(ctx), false);
        const auto t0 = std::chrono::steady_clock::now();
        if (!gen_tokens(ctx, vocab, a.tg)) {
            return 1;
        }
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        ts.push_back(a.tg / s);
    }
    double mean = 0, var = 0;
    for (double v : ts) {
        mean += v / ts.size();
    }
    for (double v : ts) {
        var += (v - mean) * (v - mean) / std::max<size_t>(1, ts.size() - 1);
    }
    std::printf("[{\"n_prompt\": 0, \"n_gen\": %d, \"n_threads\": %d, \"model_size\": %llu, \"model_n_params\": %llu, "
                "\"avg_ts\": %f, \"stddev_ts\": %f, \"samples_ts\": [",
                a.tg, a.threads, (unsigned long long) llama_model_size(model),
                (unsigned long long) llama_model_n_params(model), mean, std::sqrt(var));
    for (size_t i = 0; i < ts.size(); ++i) {
        std::printf("%s%f", i ? ", " : "", ts[i]);
    }
    std::printf("]}]\n");
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}

}  // namespace

int main(int argc, char ** argv) {
    std::setlocale(LC_NUMERIC, "C");
    Args a = parse(argc, argv);
    llama_backend_init();
    int rc;
    if (a.mode == "batched") {
        rc = run_batched(a);
    } else if (a.mode == "tg") {
        rc = run_tg(a);
    } else if (a.mode == "info") {
        std::printf("%s\n", llama_print_system_info());
        rc = 0;
    } else {
        usage_error("unknown mode '" + a.mode + "' (batched, tg or info)");
    }
    llama_backend_free();
    return rc;
}
