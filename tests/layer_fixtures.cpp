#include "layer_fixtures.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support.hpp"

namespace tapegrad::test {

struct LayerFixture::Json {
    nlohmann::json value;
    const nlohmann::json& at(const std::string& pointer) const {
        return value.at(nlohmann::json::json_pointer(pointer));
    }
};

LayerFixture::LayerFixture(const std::string& name) : json_(std::make_unique<Json>()) {
    const auto path = source_dir() / "tests" / "fixtures" / "layers" / (name + ".json");
    std::ifstream in(path);
    REQUIRE_MESSAGE(in.good(), "missing fixture ", path.string());
    json_->value = nlohmann::json::parse(in);
}

LayerFixture::~LayerFixture() = default;

namespace {

Tensor to_tensor(const nlohmann::json& j, DType dtype) {
    const Shape shape(j.at("shape").get<std::vector<std::int64_t>>());
    const auto data = j.at("data").get<std::vector<double>>();
    return from(std::span<const double>(data), shape, {.dtype = dtype});
}

}  // namespace

Tensor LayerFixture::tensor(const std::string& pointer, DType dtype) const {
    return to_tensor(json_->at(pointer), dtype);
}

StateDict LayerFixture::state(const std::string& pointer) const {
    StateDict state;
    for (const auto& [name, value] : json_->at(pointer).items())
        state[name] = to_tensor(value, f64);
    return state;
}

Tensor LayerFixture::ids(const std::string& pointer) const {
    const auto rows = json_->at(pointer).get<std::vector<std::vector<std::int32_t>>>();
    std::vector<std::int32_t> flat;
    for (const auto& row : rows) flat.insert(flat.end(), row.begin(), row.end());
    return tapegrad::ids(flat, {std::int64_t(rows.size()), std::int64_t(rows.at(0).size())});
}

double LayerFixture::number(const std::string& pointer) const {
    return json_->at(pointer).get<double>();
}

std::string LayerFixture::text(const std::string& pointer) const {
    return json_->at(pointer).get<std::string>();
}

void check_matches(const std::string& what, const Tensor& actual, const Tensor& expected,
                   double tol) {
    REQUIRE_MESSAGE(actual.defined(), what, " is undefined");
    REQUIRE_MESSAGE(actual.shape() == expected.shape(), what, ": shape ",
                    fmt::format("{} vs {}", actual.shape(), expected.shape()));
    const auto a = actual.to_vector(), e = expected.to_vector();
    double worst = 0;
    std::size_t at = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double excess = std::abs(a[i] - e[i]) / (1 + std::abs(e[i]));
        if (std::isnan(excess)) {
            worst = INFINITY, at = i;
            break;
        }
        if (excess > worst) worst = excess, at = i;
    }
    INFO(what, ": worst element ", at, ": got ", a[at], ", torch ", e[at]);
    CHECK(worst <= tol);
}

void check_projected_fixture(Module& module, const std::function<Tensor(const Tensor&)>& call,
                             const LayerFixture& fixture, DType dtype, double tol) {
    module.load_state_dict(fixture.state("/params"));
    Tensor x = fixture.tensor("/inputs/x", dtype);
    x.requires_grad(true);
    module.zero_grad();
    const Tensor y = call(x);
    check_matches("output", y, fixture.tensor("/output"), tol);
    y.backward(fixture.tensor("/projection", dtype));
    check_matches("grad x", x.grad(), fixture.tensor("/grads/x"), tol);
    for (const auto& [name, p] : module.named_parameters())
        check_matches("grad " + name, p.grad(), fixture.tensor("/grads/" + name), tol);
}

}  // namespace tapegrad::test
