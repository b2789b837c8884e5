#include "autograd/graph_dot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <unordered_set>

#include "autograd/tape.hpp"

namespace tapegrad {
namespace {

using detail::Node;

// Every node reachable from root, in recording order (oldest first).
std::vector<const Node*> ops_from(const Node* root) {
    std::unordered_set<const Node*> seen{root};
    std::vector<const Node*> order, stack{root};
    while (!stack.empty()) {
        const Node* node = stack.back();
        stack.pop_back();
        order.push_back(node);
        for (const Tensor& in : node->inputs)
            if (const Node* child = in.grad_fn().get(); child && seen.insert(child).second)
                stack.push_back(child);
    }
    std::sort(order.begin(), order.end(),
              [](const Node* a, const Node* b) { return a->seq < b->seq; });
    return order;
}

std::string quoted(std::string_view label) {
    std::string out = "\"";
    for (char c : label) {
        if (c == '"' || c == '\\') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out + '"';
}

class DotWriter {
public:
    explicit DotWriter(const std::vector<std::pair<std::string, Tensor>>& names) {
        for (const auto& [name, t] : names)
            if (t.defined()) names_.emplace(t.impl_ptr().get(), name);
    }

    // The DOT id of a leaf, declaring it on first use.
    std::string leaf(const Tensor& t) {
        const auto [it, fresh] = leaves_.emplace(t.impl_ptr().get(), leaves_.size());
        const std::string id = fmt::format("leaf{}", it->second);
        if (!fresh) return id;
        std::string label = fmt::format("{} {}", t.shape(), dtype_name(t.dtype()));
        if (const auto name = names_.find(t.impl_ptr().get()); name != names_.end())
            label = name->second + "\n" + label;
        const bool param = t.requires_grad();
        out_ += fmt::format("  {} [shape=box, style=\"{}\", fillcolor=\"#cfe2f3\", label={}];\n",
                            id, param ? "filled,rounded" : "rounded",
                            quoted(label + (param ? "\nrequires_grad" : "\nconstant")));
        return id;
    }

    void op(const Node& node, std::size_t index, bool is_root) {
        const std::string id = fmt::format("op{}", index);
        out_ += fmt::format(
            "  {} [shape=ellipse{}, label={}];\n", id, is_root ? ", peripheries=2" : "",
            quoted(fmt::format("{}\n{} {}", node.op, node.out_shape, dtype_name(node.out_dtype))));
        for (std::size_t i = 0; i < node.inputs.size(); ++i) {
            const Tensor& in = node.inputs[i];
            const std::string from =
                in.grad_fn() ? fmt::format("op{}", op_index_.at(in.grad_fn().get())) : leaf(in);
            const std::string slot =
                node.inputs.size() > 1 ? fmt::format(" [label=\"{}\"]", i) : "";
            out_ += fmt::format("  {} -> {}{};\n", from, id, slot);
        }
        op_index_.emplace(&node, index);
    }

    std::string finish() {
        return "digraph tape {\n  node [fontname=\"Helvetica\", fontsize=11];\n"
               "  edge [fontsize=9];\n" +
               out_ + "}\n";
    }

private:
    std::map<const TensorImpl*, std::string> names_;
    std::map<const TensorImpl*, std::size_t> leaves_;
    std::map<const Node*, std::size_t> op_index_;
    std::string out_;
};

}  // namespace

std::string graph_dot(const Tensor& root,
                      const std::vector<std::pair<std::string, Tensor>>& names) {
    if (!root.defined()) throw ValueError("graph_dot: the root tensor is undefined");
    DotWriter dot(names);
    if (!root.grad_fn()) {
        dot.leaf(root);
        return dot.finish();
    }
    const std::vector<const Node*> order = ops_from(root.grad_fn().get());
    for (std::size_t i = 0; i < order.size(); ++i)
        dot.op(*order[i], i, order[i] == root.grad_fn().get());
    return dot.finish();
}

}  // namespace tapegrad
