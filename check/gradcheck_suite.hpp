// The gradcheck suite: one float64 gradcheck per differentiable op and layer, with respect to every
// input and parameter, on small inputs kept away from kinks and domain edges. `tapegrad gradcheck`
// prints it as a table; the tests run it as one check per case.
//   for (const GradcheckCase& c : gradcheck_suite()) fmt::print("{} {}\n", c.name, c.run().ok);
// Names are "<family>/<variant>": the family is an op header under autograd/ops/ (unary, binary,
// reduce, matmul, shape, softmax, loss, index, norm, dropout) or a layer class (Dense,
// ActivationLayer, MultiHeadAttention, GptBlock, ...), so `--filter MultiHeadAttention/` selects
// one layer's cases. tests/test_gradcheck_suite.cpp checks that every op and layer class has a
// case; each case also runs as a gradgradcheck (run_order2, `tapegrad gradcheck --order 2`).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "autograd/gradcheck.hpp"

namespace tapegrad {

struct GradcheckCase {
    std::string name;    // "binary/mul", "Attention/concat, use_scale, causal"
    std::string shapes;  // the inputs' shapes, and the parameters' count for a layer
    std::function<GradcheckReport()> run;
    std::function<GradcheckReport()> run_order2;  // gradgradcheck of the same function and inputs
};

// Every case, built eagerly (small tensors and modules) and run on demand; `options` (eps and
// tolerances) apply to every case.
std::vector<GradcheckCase> gradcheck_suite(const GradcheckOptions& options = {});

}  // namespace tapegrad
