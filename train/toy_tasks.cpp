#include "train/toy_tasks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "autograd/ops/loss.hpp"
#include "autograd/ops/shape.hpp"
#include "autograd/tape.hpp"
#include "optim/adam.hpp"
#include "optim/clip.hpp"
#include "optim/schedule.hpp"
#include "train/health.hpp"
#include "train/sharded_step.hpp"

namespace tapegrad {
namespace {

void apply_task(ToyTask task, std::int32_t* row, std::int64_t length) {
    if (task == ToyTask::reverse) std::reverse(row, row + length);
    if (task == ToyTask::sort) std::sort(row, row + length);
}

std::string row_key(const std::int32_t* row, std::int64_t length) {
    return std::string(reinterpret_cast<const char*>(row), static_cast<std::size_t>(length) * sizeof(std::int32_t));
}

// A batch whose sequences are not in `excluded` (the held-out set).
ToyBatch training_batch(ToyTask task, const ToyTrainOptions& o, Generator& gen, const std::set<std::string>& excluded) {
    ToyBatch b = make_toy_batch(task, o.batch, o.length, o.digits, gen);
    std::int32_t* x = b.x.data<std::int32_t>();
    std::int32_t* y = b.y.data<std::int32_t>();
    for (std::int64_t r = 0; r < o.batch; ++r) {
        while (excluded.contains(row_key(x + r * o.length, o.length))) {
            for (std::int64_t t = 0; t < o.length; ++t) x[r * o.length + t] = static_cast<std::int32_t>(gen.below(o.digits));
        }
        std::copy(x + r * o.length, x + (r + 1) * o.length, y + r * o.length);
        apply_task(task, y + r * o.length, o.length);
    }
    return b;
}

Tensor predict(SequenceTransformer& model, const Tensor& x) {
    NoGrad no_grad;
    model.eval();
    Tensor p = argmax_last(model(x));
    model.train();
    return p;
}

}  // namespace

std::string_view task_name(ToyTask task) {
    switch (task) {
        case ToyTask::copy: return "copy";
        case ToyTask::reverse: return "reverse";
        case ToyTask::sort: return "sort";
    }
    return "?";
}

ToyTask parse_task(std::string_view name) {
    for (ToyTask t : {ToyTask::copy, ToyTask::reverse, ToyTask::sort})
        if (task_name(t) == name) return t;
    throw ValueError(fmt::format("toy task: unknown task '{}' (copy, reverse or sort)", name));
}

ToyBatch make_toy_batch(ToyTask task, std::int64_t batch, std::int64_t length, std::int64_t digits, Generator& gen) {
    ToyBatch b{Tensor::empty({batch, length}, i32), Tensor::empty({batch, length}, i32)};
    std::int32_t* x = b.x.data<std::int32_t>();
    std::int32_t* y = b.y.data<std::int32_t>();
    for (std::int64_t i = 0; i < batch * length; ++i) y[i] = x[i] = static_cast<std::int32_t>(gen.below(digits));
    for (std::int64_t r = 0; r < batch; ++r) apply_task(task, y + r * length, length);
    return b;
}

Tensor argmax_last(const Tensor& logits) {
    const Shape& s = logits.shape();
    const std::int64_t classes = s.back(), rows = logits.numel() / classes;
    Tensor out = Tensor::empty(Shape(s.dims().first(s.rank() - 1)), i32);
    const std::vector<double> v = logits.to_vector();
    for (std::int64_t r = 0; r < rows; ++r) {
        const auto begin = v.begin() + r * classes;
        out.data<std::int32_t>()[r] = static_cast<std::int32_t>(std::max_element(begin, begin + classes) - begin);
    }
    return out;
}

double exact_accuracy(const Tensor& predictions, const Tensor& targets) {
    expect_same_shape("exact_accuracy", predictions.shape(), targets.shape());
    const std::int64_t rows = predictions.dim(0), length = predictions.numel() / std::max<std::int64_t>(rows, 1);
    const std::int32_t* p = predictions.data<std::int32_t>();
    const std::int32_t* t = targets.data<std::int32_t>();
    std::int64_t right = 0;
    for (std::int64_t r = 0; r < rows; ++r) right += std::equal(p + r * length, p + (r + 1) * length, t + r * length);
    return rows ? static_cast<double>(right) / static_cast<double>(rows) : 0.0;
}

ToyResult train_toy_task(SequenceTransformer& model, ToyTask task, const ToyTrainOptions& o) {
    Generator test_gen(o.seed ^ 0x5eedULL), train_gen(o.seed);
    ToyResult result;
    result.test = make_toy_batch(task, o.test_size, o.length, o.digits, test_gen);
    std::set<std::string> held_out;
    for (std::int64_t r = 0; r < o.test_size; ++r) held_out.insert(row_key(result.test.x.data<std::int32_t>() + r * o.length, o.length));
    const std::vector<Tensor> params = model.parameters();
    AdamW optimizer(params, {.lr = o.lr, .weight_decay = 0.0});
    const WarmupCosineSchedule schedule({.lr = o.lr, .warmup_steps = o.warmup, .decay_steps = o.max_steps, .min_lr = o.lr / 10});
    const auto start = std::chrono::steady_clock::now();
    model.train();
    for (std::int64_t step = 0; step < o.max_steps; ++step) {
        const ToyBatch b = training_batch(task, o, train_gen, held_out);
        optimizer.zero_grad();
        const Tensor loss = sharded_backward(
            model, [&](const Batch& part) { return cross_entropy(model(part.x), part.y); },
            {b.x, b.y}, o.shards);
        clip_grad_norm(params, 1.0);
        optimizer.set_lr(schedule.lr_at(step));
        const bool measure = o.health_every > 0 && step % o.health_every == 0;
        std::vector<Tensor> before;
        std::vector<LayerHealth> layers;  // each head's attention entropy
        if (measure) {
            for (const auto& [name, p] : model.named_parameters())
                before.push_back(p.detach().clone());
            // 16 sequences of the batch estimate the entropies well enough, at a quarter the cost
            const Tensor some = slice(b.x, 0, 0, std::min<std::int64_t>(16, b.x.dim(0)));
            for (const Tensor& map : model.attention_maps(some))
                layers.push_back({.attention_entropy = attention_entropy(map)});
        }
        optimizer.step();
        MetricsPoint& row = result.curve.emplace_back(
            MetricsPoint{.step = step, .loss = loss.item(), .lr = optimizer.lr()});
        if (measure)
            row.health =
                HealthStats{.step = step,
                            .parameters = parameter_health(model.named_parameters(), before),
                            .layers = std::move(layers)};
        result.steps = step + 1;
        if ((step + 1) % o.eval_every != 0 && step + 1 != o.max_steps) continue;
        result.predictions = predict(model, result.test.x);
        result.accuracy = exact_accuracy(result.predictions, result.test.y);
        if (!o.quiet)
            fmt::print("  {:<8} step {:>5}  loss {:.4f}  held-out exact accuracy {:6.2f}%\n", task_name(task), step + 1,
                       loss.item(), 100 * result.accuracy);
        if (result.accuracy >= o.target_accuracy) break;
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

}  // namespace tapegrad
