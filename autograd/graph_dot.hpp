// The tape as a picture: the ops that made a tensor, in Graphviz DOT (render with
// `dot -Tsvg graph.dot -o graph.svg`). Ops are ellipses labelled with their name and output shape,
// leaf tensors are boxes (parameters filled, constants plain), edges run from input to op.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/tensor.hpp"

namespace tapegrad {

// Walks the tape back from root. Output is deterministic: ops are numbered in recording order
// and leaves in order of first use, so the same computation gives the same text. `names` labels
// leaves (e.g. a module's named_parameters()); an op with several inputs numbers its edges.
std::string graph_dot(const Tensor& root,
                      const std::vector<std::pair<std::string, Tensor>>& names = {});

}  // namespace tapegrad
