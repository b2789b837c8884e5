// gradcheck: compares the tape's gradients with central differences, in float64.
//
// For f: inputs -> output, it draws a fixed random vector v of the output's shape and checks the
// vector-Jacobian product vᵀJ (what backward computes) element by element against
// (L(x + eps·e_k) − L(x − eps·e_k)) / 2eps with L = Σ v ⊙ f(x). A wrong backward changes vᵀJ for
// almost every v, so one projection finds it; `projections` adds more vectors for extra certainty.
//
// gradgradcheck checks the second derivatives the same way: the gradient of ⟨∂⟨f, v⟩/∂x, u⟩ (a
// create_graph backward, differentiated again) against central differences of that first
// derivative. fast mode trades elements for directions: uᵀJw against (L(x + eps·w) − L(x − eps·w))
// / 2eps for random w, two forward passes per probe whatever the inputs' size.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace tapegrad {

struct GradcheckOptions {
    double eps = 1e-6;
    double atol = 1e-5;
    double rtol = 1e-3;
    int projections = 2;
    std::uint64_t seed = 0;  // for the projection vectors and the element sample
    // Per input, check a seeded random sample of at most this many elements (0 = every element):
    // a whole-model check stays affordable when each element costs two forward passes.
    std::size_t max_elements = 0;
    // Check `probes` random directions instead of single elements (fast mode, for big models).
    bool fast = false;
    int probes = 4;
    // When the check fails, find the first node whose backward alone disagrees with central
    // differences of that node's forward (GradcheckReport::located).
    bool locate = false;
    std::size_t locate_elements = 6;  // per node input, a seeded sample (0 = every element)
};

// The first recorded node whose backward disagrees with its own forward: what, where, how wrong.
struct LocatedNode {
    std::string op;            // "gelu"
    std::size_t position = 0;  // among the nodes f records, from 0
    std::vector<Shape> input_shapes;
    std::string layer;  // the innermost layer that recorded it ("h.1.mlp"), or ""
    std::size_t input = 0;
    std::int64_t element = 0;
    double analytic = 0.0, numeric = 0.0;
    std::string message() const;
};

struct GradcheckReport {
    bool ok = true;
    std::size_t checked = 0;   // elements compared (each against every projection)
    bool probes = false;       // fast mode: `checked` counts probes, `element` is the worst probe
    std::size_t input = 0;     // the worst element: which input...
    std::int64_t element = 0;  // ...which flat element of it
    double analytic = 0.0;     // ...the gradient backward gave
    double numeric = 0.0;      // ...and the central difference
    double max_abs_error = 0.0;
    double max_rel_error = 0.0;
    // Said when it matters: "input 2: every gradient is 0 — is the input used?" (a pass that
    // compared nothing but zeros).
    std::vector<std::string> notes;
    std::vector<std::size_t> zero_inputs;  // the inputs those notes are about
    std::optional<LocatedNode> located;    // with options.locate, when the check failed
    std::string message() const;           // one line naming the worst element, then the notes
};

using GradcheckFn = std::function<Tensor(const std::vector<Tensor>&)>;

// Inputs that require grad are checked; they must be f64. Their values are perturbed in place and
// restored, so f may also read them through a module that holds them.
GradcheckReport gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

// The fault locator on its own: replays f, and for each node in recording order compares its
// backward alone (for a random upstream gradient) with central differences of that node's output
// as one input element moves. nullopt when every node agrees. f must be deterministic (dropout
// off), its inputs as for gradcheck. Costs two forward passes per sampled element per node input.
std::optional<LocatedNode> locate_wrong_node(const GradcheckFn& f,
                                             const std::vector<Tensor>& inputs,
                                             const GradcheckOptions& options = {});

// Second derivatives, in float64, with the same options and report. The inputs are those of
// gradcheck plus, last, the upstream gradient v (random, seeded): "input N" with N the number of
// inputs names it, so a backward whose gradient is wrong in dy is caught too.
GradcheckReport gradgradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options = {});

}  // namespace tapegrad
