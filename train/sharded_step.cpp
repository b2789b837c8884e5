#include "train/sharded_step.hpp"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <exception>
#include <vector>

#include "autograd/tape.hpp"
#include "core/kernels/broadcast.hpp"
#include "core/kernels/thread_cap.hpp"
#include "core/random.hpp"
#include "train/data_source.hpp"

namespace tapegrad {
namespace {

// One part of the batch: its rows, where it draws random numbers from, and what its sweep gave.
struct Part {
    Batch rows;
    std::vector<Generator> streams;  // parts > 0: derived from the model's generators
    std::vector<GeneratorRedirect::Pair> redirects;
    Tensor loss;
    std::vector<Tensor> grads;  // per parameter; undefined where the part did not reach it
    std::exception_ptr error;
};

// The model's generators and the global one (a loss may draw from it directly): part 0 draws
// from them, part s > 0 from their derived(s), so no generator is drawn from by two threads.
std::vector<Part> parts_for(Module& model, int shards) {
    std::vector<Part> parts(static_cast<std::size_t>(shards));
    std::vector<Generator*> generators{&global_generator()};
    for (const auto& [name, gen] : model.named_generators())
        if (gen != generators.front()) generators.push_back(gen);
    for (int s = 1; s < shards; ++s) {
        Part& part = parts[static_cast<std::size_t>(s)];
        part.streams.reserve(generators.size());  // the pairs point into it
        for (Generator* gen : generators) {
            part.streams.push_back(gen->derived(static_cast<std::uint64_t>(s)));
            part.redirects.push_back({gen, &part.streams.back()});
        }
    }
    return parts;
}

std::vector<Tensor> trainable(const Module& model) {
    std::vector<Tensor> out;
    for (const Tensor& p : model.parameters())
        if (p.requires_grad()) out.push_back(p);
    return out;
}

const Tensor& scalar(const Tensor& loss) {
    if (!loss.defined() || loss.numel() != 1)
        throw ValueError(fmt::format(
            "sharded_backward: the loss must be a scalar (got {})",
            loss.defined() ? fmt::format("{}", loss.shape()) : std::string("undefined")));
    return loss;
}

// Part s's forward and its sweep, on this thread; the model's .grad()s are left alone.
void run_part(Part& part, int s, int shards, const BatchLoss& loss_of,
              const std::vector<Tensor>& params, bool grad_mode) {
    try {
        const GradModeGuard mode(grad_mode);
        const ShardScope scope(s);
        const GeneratorRedirect redirect(part.redirects);
        const Tensor loss = scalar(loss_of(part.rows));
        const Tensor weight = full(loss.shape(), 1.0 / shards, {.dtype = loss.dtype()});
        part.grads = grad({loss}, params, {.grad_outputs = {weight}, .allow_unused = true});
        part.loss = loss.detach();
    } catch (...) {
        part.error = std::current_exception();
    }
}

// Parameter i's gradient: the parts' in part order, undefined when no part reached it.
Tensor summed(const std::vector<Part>& parts, std::size_t i) {
    Tensor total;
    for (const Part& part : parts) {
        const Tensor& g = part.grads[i];
        if (!g.defined()) continue;
        total = total.defined() ? kernels::binary(kernels::BinaryOp::add, total, g, g.shape()) : g;
    }
    return total;
}

}  // namespace

Tensor sharded_backward(Module& model, const BatchLoss& loss, const Batch& batch, int shards) {
    if (shards < 1)
        throw ValueError(fmt::format("sharded_backward: shards must be >= 1 (got {})", shards));
    if (shards == 1) {  // the whole batch on this thread, its ops split across threads as usual
        const Tensor whole = scalar(loss(batch));
        whole.backward();
        return whole.detach();
    }
    const std::vector<Tensor> params = trainable(model);
    std::vector<Part> parts = parts_for(model, shards);
    for (int s = 0; s < shards; ++s)  // the first throws when the rows do not divide
        parts[static_cast<std::size_t>(s)].rows =
            batch_part(batch, s, shards, "sharded_backward", "shards");
    const bool grad_mode = grad_enabled();
    const int team = omp_in_parallel() ? 1 : std::min(shards, omp_get_max_threads());
#pragma omp parallel num_threads(team)
    {
        const kernels::ThreadCap one_thread(1);
        for (int s = omp_get_thread_num(); s < shards; s += omp_get_num_threads())
            run_part(parts[static_cast<std::size_t>(s)], s, shards, loss, params, grad_mode);
    }
    for (const Part& part : parts)
        if (part.error) std::rethrow_exception(part.error);

    const NoGrad plain_sums;
    for (std::size_t i = 0; i < params.size(); ++i)
        if (const Tensor g = summed(parts, i); g.defined()) Backward::accumulate_leaf(params[i], g);
    double mean = 0.0;
    for (const Part& part : parts) mean += part.loss.item();
    mean /= shards;
    return full(parts[0].loss.shape(), mean, {.dtype = parts[0].loss.dtype()});
}

}  // namespace tapegrad
