// The parts of the gradcheck suite (check/gradcheck_suite.hpp), one function per group of
// families, and the helpers they share to build a case. Internal to the suite's .cpp files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "check/gradcheck_suite.hpp"
#include "layers/attention_core.hpp"
#include "layers/module.hpp"
#include "layers/multi_head_attention.hpp"

namespace tapegrad::detail {

// Where the parts append their cases, with the options every case runs with.
struct SuiteBuilder {
    GradcheckOptions options;
    std::vector<GradcheckCase> cases;

    // A case of f over `inputs` (f64; those that require grad are checked).
    void add(std::string name, GradcheckFn f, std::vector<Tensor> inputs);
    // A case of a module: `module` is moved to f64 and its parameters set to uniform(−bound, bound)
    // (bound 0 keeps them), then checked after `inputs`. f must keep the module alive (capture the
    // shared_ptr that owns it) and read the parameters through it.
    void add_module(std::string name, Module& module, double bound, GradcheckFn f,
                    std::vector<Tensor> inputs);
};

// f64, requires grad, uniform in [lo, hi], seeded.
Tensor grad_input(const Shape& shape, std::uint64_t seed, double lo = -1.0, double hi = 1.0);

// The mask combinations every attention layer is checked under, for query [2,3,·] and
// value [2,5,·]: batch 1 pads its last two values and its middle query; the attention_mask [3,5]
// keeps key 0 in every row.
struct AttentionMaskCase {
    const char* name;
    AttentionCall call;
};
std::vector<AttentionMaskCase> attention_mask_cases();

// E_q 4, E_v 3, E_k 4, H 2, k 3, v 2, E_out 5: every size different where Keras allows it
// (for a layer built with query width 4). tests/test_mha.cpp checks the same layer.
MultiHeadAttentionOptions small_mha_options(bool use_bias = true);

void add_elementwise_cases(SuiteBuilder& suite);  // unary, binary
void add_reduce_matmul_cases(SuiteBuilder& suite);
void add_shape_cases(SuiteBuilder& suite);
void add_nn_op_cases(SuiteBuilder& suite);  // softmax, loss, index, norm, dropout
void add_basic_layer_cases(SuiteBuilder& suite);
void add_attention_cases(SuiteBuilder& suite);
void add_transformer_cases(SuiteBuilder& suite);
void add_gpt_cases(SuiteBuilder& suite);

}  // namespace tapegrad::detail
