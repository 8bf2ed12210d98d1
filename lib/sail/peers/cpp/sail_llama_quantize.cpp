// sail-llama-quantize: llama.cpp's model quantiser (libllama's llama_model_quantize) without the
// llama-quantize tool's `common` dependency (see sail_llama_decode.cpp for why).
//
// llama-quantize (tools/quantize/quantize.cpp, llama.cpp commit 0c1e57098) parses its options into a
// llama_model_quantize_params and calls llama_model_quantize; this program does the same for the two
// options the pipeline uses: --pure (every 2-D tensor in the type's base type, no per-tensor mixture)
// and --allow-requantize (input tensors already quantised, e.g. SmolLM2's Q4_1 file). The type names
// are llama-quantize's (Q4_K is its alias for Q4_K_M, Q3_K for Q3_K_M).
//
// usage: sail-llama-quantize [--pure] [--allow-requantize] <input.gguf> <output.gguf> <type> [<threads>]
#include "llama.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

struct TypeName {
    const char * name;
    llama_ftype ftype;
};

// The subset of llama-quantize's QUANT_OPTIONS table the pipeline may ask for (same names, same ftypes).
const TypeName TYPES[] = {
    {"Q4_0", LLAMA_FTYPE_MOSTLY_Q4_0},     {"Q4_1", LLAMA_FTYPE_MOSTLY_Q4_1},
    {"Q8_0", LLAMA_FTYPE_MOSTLY_Q8_0},     {"Q2_K", LLAMA_FTYPE_MOSTLY_Q2_K},
    {"Q3_K", LLAMA_FTYPE_MOSTLY_Q3_K_M},   {"Q3_K_M", LLAMA_FTYPE_MOSTLY_Q3_K_M},
    {"Q4_K", LLAMA_FTYPE_MOSTLY_Q4_K_M},   {"Q4_K_M", LLAMA_FTYPE_MOSTLY_Q4_K_M},
    {"IQ4_NL", LLAMA_FTYPE_MOSTLY_IQ4_NL}, {"TQ2_0", LLAMA_FTYPE_MOSTLY_TQ2_0},
};

[[noreturn]] void usage_error(const std::string & msg) {
    std::fprintf(stderr, "sail-llama-quantize: %s\n", msg.c_str());
    std::exit(2);
}

}  // namespace

int main(int argc, char ** argv) {
    llama_model_quantize_params params = llama_model_quantize_default_params();
    int i = 1;
    for (; i < argc && std::strncmp(argv[i], "--", 2) == 0; ++i) {
        if (std::strcmp(argv[i], "--pure") == 0) {
            params.pure = true;
        } else if (std::strcmp(argv[i], "--allow-requantize") == 0) {
            params.allow_requantize = true;
        } else {
            usage_error(std::string("unknown option ") + argv[i]);
        }
    }
    if (argc - i < 3 || argc - i > 4) {
        usage_error("usage: sail-llama-quantize [--pure] [--allow-requantize] <input.gguf> <output.gguf> <type> [<threads>]");
    }
    const char * inp = argv[i];
    const char * out = argv[i + 1];
    std::string type = argv[i + 2];
    for (char & c : type) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    bool found = false;
    for (const TypeName & t : TYPES) {
        if (type == t.name) {
            params.ftype = t.ftype;
            found = true;
        }
    }
    if (!found) {
        std::string known;
        for (const TypeName & t : TYPES) {
            known += std::string(known.empty() ? "" : ", ") + t.name;
        }
        usage_error("unknown type '" + std::string(argv[i + 2]) + "' (known: " + known + ")");
    }
    if (argc - i == 4) {
        char * end = nullptr;
        long n = std::strtol(argv[i + 3], &end, 10);
        if (end == argv[i + 3] || *end != '\0' || n < 1 || n > 4096) {
            usage_error(std::string("invalid thread count '") + argv[i + 3] + "'");
        }
        params.nthread = static_cast<int32_t>(n);
    }
    if (std::strcmp(inp, out) == 0) {
        usage_error("input and output are the same file");
    }
    llama_backend_init();
    const int64_t t0 = llama_time_us();
    const uint32_t rc = llama_model_quantize(inp, out, &params);
    if (rc != 0) {
        std::fprintf(stderr, "sail-llama-quantize: failed to quantize %s\n", inp);
        return 1;
    }
    std::printf("sail-llama-quantize: %s -> %s as %s in %.2f s\n", inp, out, type.c_str(), (llama_time_us() - t0) / 1e6);
    llama_backend_free();
    return 0;
}
