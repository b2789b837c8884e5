// User ops: the node owns a Recorded (the op's name and its Function) as its state, and one
// captureless backward serves every user op by calling the Function it finds there.
#include "autograd/function.hpp"

#include <fmt/format.h>

#include "autograd/tape.hpp"

namespace tapegrad {
namespace {

struct Recorded {
    std::string name;  // the node's op points here
    std::shared_ptr<Function> fn;
};

void user_backward(Backward& bw) {
    Recorded& r = bw.state<Recorded>();
    std::vector<Tensor> inputs;
    for (std::size_t i = 0; i < bw.num_inputs(); ++i) inputs.push_back(bw.input(i));
    const std::vector<Tensor> grads = r.fn->backward(inputs, bw.grad_out());
    if (grads.size() != inputs.size())
        throw ValueError(fmt::format("{}: backward returned {} gradients for {} inputs", r.name,
                                     grads.size(), inputs.size()));
    for (std::size_t i = 0; i < grads.size(); ++i)
        if (grads[i].defined() && bw.needs(i)) bw.accumulate(i, grads[i]);
}

// A Function made of two callables.
struct Lambdas : Function {
    ForwardBody forward_body;
    BackwardBody backward_body;
    Lambdas(ForwardBody f, BackwardBody b)
        : forward_body(std::move(f)), backward_body(std::move(b)) {}
    Tensor forward(const std::vector<Tensor>& inputs) override { return forward_body(inputs); }
    std::vector<Tensor> backward(const std::vector<Tensor>& inputs, const Tensor& dy) override {
        return backward_body(inputs, dy);
    }
};

}  // namespace

Tensor apply(const std::string& name, std::shared_ptr<Function> fn, std::vector<Tensor> inputs) {
    if (!fn) throw ValueError(fmt::format("{}: no Function given", name));
    Tensor out;
    {
        NoGrad forward_only;
        out = fn->forward(inputs);
    }
    if (!out.defined()) throw ValueError(fmt::format("{}: forward returned no tensor", name));
    auto state = std::make_shared<Recorded>(Recorded{name, std::move(fn)});
    const char* op = state->name.c_str();
    return record_with_state(op, std::move(inputs), out.detach(), std::move(state), user_backward);
}

Tensor custom_op(const std::string& name, std::vector<Tensor> inputs, ForwardBody forward,
                 BackwardBody backward) {
    return apply(name, std::make_shared<Lambdas>(std::move(forward), std::move(backward)),
                 std::move(inputs));
}

}  // namespace tapegrad
