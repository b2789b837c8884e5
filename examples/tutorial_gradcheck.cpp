// Tutorial step 7 (docs/tutorial.md): checking every gradient of a layer with gradcheck: against
// its input with gradcheck(), against each parameter tensor with gradcheck_parameters().
#include <fmt/format.h>

#include <tapegrad/autograd/gradcheck.hpp>
#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/check/gradcheck_module.hpp>
#include <tapegrad/layers/multi_head_attention.hpp>

using namespace tapegrad;

int main() {
    // [tutorial:gradcheck]
    MultiHeadAttention mha(4, {.num_heads = 2, .key_dim = 3, .seed = 1});
    mha.to(f64);  // central differences need float64
    const Tensor x = uniform({2, 3, 4}, -1, 1, {.dtype = f64, .seed = 2, .requires_grad = true});
    const GradcheckReport input =
        gradcheck([&](const std::vector<Tensor>& in) -> Tensor { return mha(in[0], in[0]); }, {x});
    fmt::print("input x: {} ({} elements)\n", input.ok ? "ok" : input.message(), input.checked);
    const auto loss = [&] { return sum(mul(mha(x, x), x)); };  // any scalar of the output
    for (const ParameterCheck& c : gradcheck_parameters(mha, loss, {}))
        fmt::print("{:<24} {:<9} max abs error {:.1e}  {}\n", c.name, fmt::format("{}", c.shape),
                   c.max_abs_error, c.ok ? "ok" : "WRONG");
    // [/tutorial:gradcheck]
}
