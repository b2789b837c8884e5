// The torch-made layer fixtures (tests/fixtures/layers/*.json, written by
// tests/fixtures/make_layer_fixtures.py and committed, so no torch at test time), and checks of a
// module's output and gradients against them. JSON parsing lives in layer_fixtures.cpp, the one
// test file that includes nlohmann/json.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/tensor.hpp"
#include "layers/module.hpp"

namespace tapegrad::test {

// One fixture file. Entries are addressed by JSON pointer: "/grads/h.0.ln_1.weight".
class LayerFixture {
public:
    explicit LayerFixture(const std::string& name);  // tests/fixtures/layers/<name>.json
    ~LayerFixture();
    Tensor tensor(const std::string& pointer, DType dtype = f64) const;  // {"shape", "data"}
    StateDict state(const std::string& pointer) const;                   // {name: tensor, ...}
    Tensor ids(const std::string& pointer) const;  // [[int, ...], ...] -> i32 [B,T]
    double number(const std::string& pointer) const;
    std::string text(const std::string& pointer) const;

private:
    struct Json;
    std::unique_ptr<Json> json_;
};

// Every element within tol·(1 + |expected|); on failure the message names the tensor and element.
void check_matches(const std::string& what, const Tensor& actual, const Tensor& expected,
                   double tol);

// For fixtures with a projection v: loads "/params" into `module` (already in `dtype`), runs
// y = call(x) on "/inputs/x" and backward with v, then compares y, dx and every parameter's
// gradient with "/output" and "/grads".
void check_projected_fixture(Module& module, const std::function<Tensor(const Tensor&)>& call,
                             const LayerFixture& fixture, DType dtype, double tol);

}  // namespace tapegrad::test
