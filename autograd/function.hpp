// Your own op: a forward and a backward written together, which may hold state (a constant, a
// counter, a cache). The node keeps the object alive until the graph goes; it is recorded like a
// built-in op, so gradcheck, gradgradcheck and the fault locator see it by its name.
//   struct Scale : Function {
//       double factor;
//       explicit Scale(double f) : factor(f) {}
//       Tensor forward(const std::vector<Tensor>& x) override { return x[0] * factor; }
//       std::vector<Tensor> backward(const std::vector<Tensor>&, const Tensor& dy) override {
//           return {dy * factor};
//       }
//   };
//   Tensor y = apply("scale", std::make_shared<Scale>(2.0), {x});
// Or with two lambdas that may capture: custom_op("scale", {x}, forward, backward).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace tapegrad {

class Function {
public:
    virtual ~Function() = default;
    // Runs without recording: the op's own backward stands for whatever it computes.
    virtual Tensor forward(const std::vector<Tensor>& inputs) = 0;
    // One gradient per input, each of its input's shape (or broadcast to it); an undefined
    // Tensor for an input that gets none. Written with tapegrad's ops on `inputs` and `grad_out`
    // it is differentiable again: backward({.create_graph = true}) and gradgradcheck use that.
    virtual std::vector<Tensor> backward(const std::vector<Tensor>& inputs,
                                         const Tensor& grad_out) = 0;
};

// Runs fn's forward and records a node named `name` whose backward is fn's.
Tensor apply(const std::string& name, std::shared_ptr<Function> fn, std::vector<Tensor> inputs);

using ForwardBody = std::function<Tensor(const std::vector<Tensor>& inputs)>;
using BackwardBody =
    std::function<std::vector<Tensor>(const std::vector<Tensor>& inputs, const Tensor& grad_out)>;

// The same with the two halves as callables, which may capture.
Tensor custom_op(const std::string& name, std::vector<Tensor> inputs, ForwardBody forward,
                 BackwardBody backward);

}  // namespace tapegrad
