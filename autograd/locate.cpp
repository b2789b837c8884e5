// The fault locator: which node's backward is wrong. A survey replay of f keeps every recorded
// node; then, node by node in recording order, the node's backward alone gives vᵀJ for a random
// v, and replays of f with one element of one of its inputs moved by ±eps (a leaf's value, or the
// output of the node that made the input, changed as it is recorded) give the central difference
// of ⟨v, the node's output⟩. The first node where the two disagree is reported.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <unordered_map>

#include "autograd/gradcheck_detail.hpp"
#include "autograd/ops/binary.hpp"
#include "autograd/ops/reduce.hpp"
#include "autograd/tape.hpp"
#include "core/format.hpp"
#include "core/random.hpp"

namespace tapegrad {
namespace {

constexpr std::size_t no_node = static_cast<std::size_t>(-1);

// Keeps every node f records, its output and the layer that recorded it.
struct Survey : detail::RecordHook {
    struct Entry {
        Tensor out;  // holds the node alive
        std::string scope;
    };
    std::vector<Entry> entries;
    void on_record(std::size_t, detail::Node&, Tensor& out, const std::string& scope) override {
        entries.push_back({out, scope});
    }
};

bool same_values(const Tensor& a, const Tensor& b) {
    if (a.dtype() != f64 || b.dtype() != f64) return true;  // ids and masks are never moved
    const auto x = a.span<double>(), y = b.span<double>();
    return std::equal(x.begin(), x.end(), y.begin(), y.end());
}

// The same tensor in the graph: one handle, or two handles of one node's output (a node keeps an
// input it does not read as a link).
bool same_tensor(const Tensor& a, const Tensor& b) {
    return &a.impl() == &b.impl() || (a.grad_fn() && a.grad_fn() == b.grad_fn());
}

// One replay: moves element `element` of the output of node `moved` by `delta` as it is recorded
// and copies the output of node `watched`. When the move also changed another input of the
// watched node (x + f(x): moving x moves f(x)), the difference is not that input's alone: the
// replay says so and the input is skipped.
struct Replay : detail::RecordHook {
    std::size_t moved = no_node, watched = 0;
    std::int64_t element = 0;
    double delta = 0.0;
    const detail::Node* original = nullptr;  // the watched node in the survey
    // the producers of its other inputs, with their outputs as surveyed
    std::vector<std::pair<std::size_t, Tensor>> others;
    Tensor seen;
    bool mixed = false;
    void on_record(std::size_t position, detail::Node& node, Tensor& out,
                   const std::string&) override {
        for (const auto& [at, surveyed] : others)
            if (position == at && !same_values(out, surveyed)) mixed = true;
        if (position == moved) {
            Tensor copy = out.detach().clone();
            copy.data<double>()[element] += delta;
            out.impl().storage = copy.impl().storage;
        }
        if (position == watched) {
            if (std::string_view(node.op) != original->op)
                throw ValueError(
                    fmt::format("locate: replaying f recorded '{}' where the first run "
                                "recorded '{}': f must be deterministic (dropout off)",
                                node.op, original->op));
            seen = out.detach().clone();
        }
    }
};

class Locator {
public:
    Locator(const GradcheckFn& f, const std::vector<Tensor>& inputs,
            const GradcheckOptions& options)
        : f_(f), inputs_(inputs), options_(options) {
        detail::ScopedRecordHook watching(survey_);
        root_ = f_(inputs_);
        for (std::size_t k = 0; k < survey_.entries.size(); ++k)
            position_of_[survey_.entries[k].out.grad_fn().get()] = k;
    }

    std::optional<LocatedNode> run() {
        for (std::size_t k = 0; k < survey_.entries.size(); ++k)
            if (auto found = check_node(k)) return found;
        return std::nullopt;
    }

private:
    // ⟨v, output of node k⟩ with one element of its input i moved: of a node's output (in the
    // replay) or of a tensor f does not compute (in place, then restored); nullopt when the move
    // reached another input of node k too.
    std::optional<double> value(std::size_t k, std::size_t i, const Tensor& v, std::int64_t e,
                                double delta) {
        Replay replay;
        replay.watched = k;
        replay.original = survey_.entries[k].out.grad_fn().get();
        const Tensor& x = replay.original->inputs[i];
        for (const Tensor& other : replay.original->inputs) {
            const auto at =
                other.grad_fn() ? position_of_.find(other.grad_fn().get()) : position_of_.end();
            if (at != position_of_.end() && !same_tensor(other, x))
                replay.others.emplace_back(at->second, survey_.entries[at->second].out);
        }
        double* px = nullptr;
        const auto producer =
            x.grad_fn() ? position_of_.find(x.grad_fn().get()) : position_of_.end();
        if (producer != position_of_.end()) {
            replay.moved = producer->second;
            replay.element = e;
            replay.delta = delta;
        } else {
            px = x.data<double>() + e;
            *px += delta;
        }
        {
            detail::ScopedRecordHook watching(replay);
            f_(inputs_);
        }
        if (px) *px -= delta;
        if (!replay.seen.defined())
            throw ValueError("locate: replaying f recorded fewer nodes than the first run");
        if (replay.mixed) return std::nullopt;
        return sum(mul(replay.seen, v)).item();
    }

    std::optional<LocatedNode> check_node(std::size_t k) {
        detail::Node& node = *survey_.entries[k].out.grad_fn();
        const Tensor v = detail::projection(survey_.entries[k].out, options_.seed + 31 * k);
        const std::vector<Tensor> analytic = detail::node_vjp(node, v);
        GradcheckOptions sample = options_;
        sample.max_elements = options_.locate_elements;
        for (std::size_t i = 0; i < node.inputs.size(); ++i) {
            const Tensor& x = node.inputs[i];
            if (!x.requires_grad() || x.dtype() != f64 || repeats_earlier(node, i)) continue;
            const bool recorded_here = x.grad_fn() && position_of_.count(x.grad_fn().get());
            if (!recorded_here && !x.impl().storage) continue;  // a link to an earlier graph
            detail::Tally tally(options_);
            for (std::int64_t e : detail::elements_to_check(x.numel(), i, sample)) {
                const auto plus = value(k, i, v, e, options_.eps);
                const auto minus = value(k, i, v, e, -options_.eps);
                if (!plus || !minus) break;  // not this input's alone: skipped
                tally.add(i, e, analytic[i].data<double>()[e],
                          (*plus - *minus) / (2 * options_.eps));
            }
            const GradcheckReport r = tally.finish(0, {});
            if (!r.ok) return describe(k, node, r);
        }
        return std::nullopt;
    }

    // The same tensor as an earlier input: node_vjp gave both slots the sum, checked once.
    static bool repeats_earlier(const detail::Node& node, std::size_t i) {
        for (std::size_t j = 0; j < i; ++j)
            if (same_tensor(node.inputs[j], node.inputs[i])) return true;
        return false;
    }

    LocatedNode describe(std::size_t k, const detail::Node& node, const GradcheckReport& r) const {
        LocatedNode out{.op = node.op, .position = k, .layer = survey_.entries[k].scope};
        for (const Tensor& x : node.inputs) out.input_shapes.push_back(x.shape());
        out.input = r.input;
        out.element = r.element;
        out.analytic = r.analytic;
        out.numeric = r.numeric;
        return out;
    }

    const GradcheckFn& f_;
    const std::vector<Tensor>& inputs_;
    const GradcheckOptions& options_;
    Survey survey_;
    Tensor root_;
    std::unordered_map<const detail::Node*, std::size_t> position_of_;
};

}  // namespace

std::string LocatedNode::message() const {
    return fmt::format(
        "first wrong node: #{} '{}'{} with inputs {}: input {} element {}: "
        "analytic {:.10g}, numeric {:.10g}",
        position, op, layer.empty() ? "" : fmt::format(" in layer '{}'", layer),
        fmt::join(input_shapes, " "), input, element, analytic, numeric);
}

std::optional<LocatedNode> locate_wrong_node(const GradcheckFn& f,
                                             const std::vector<Tensor>& inputs,
                                             const GradcheckOptions& options) {
    Locator locator(f, inputs, options);
    return locator.run();
}

}  // namespace tapegrad
