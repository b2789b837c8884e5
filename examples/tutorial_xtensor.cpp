// Tutorial step 9 (docs/tutorial.md): data that lives in xtensor. A CSV file read with
// xt::load_csv becomes tensors without a loop, a small MLP trains on it with fit(), and its
// predictions come back as an xt::xarray, written out with xt::dump_csv.
//   build/tutorial_xtensor [data.csv]   (columns x1, x2, y after a header row; default: the
//                                        example's own data, written to out/xtensor_data.csv)
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xcsv.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/core/xtensor.hpp>
#include <tapegrad/layers/sequential.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/train/fit.hpp>

using namespace tapegrad;

namespace {

// The example's data: y = sin(2·x1) + x2²/2 + noise, 600 rows under a header.
void write_example_csv(const std::string& path) {
    const Tensor x = uniform({600, 2}, -1, 1, {.dtype = f64, .seed = 1});
    const Tensor noise = randn({600}, {.dtype = f64, .seed = 2});
    const auto v = as_xtensor<const double>(x);
    xt::xtensor<double, 2> table = xt::zeros<double>({600, 3});
    xt::view(table, xt::all(), xt::range(0, 2)) = v;
    xt::view(table, xt::all(), 2) = xt::sin(2.0 * xt::view(v, xt::all(), 0)) +
                                    0.5 * xt::square(xt::view(v, xt::all(), 1)) +
                                    0.05 * as_xtensor<const double>(noise);
    std::ofstream out(path);
    out << "x1,x2,y\n";
    xt::dump_csv(out, table);
}

}  // namespace

int main(int argc, char** argv) {
    std::filesystem::create_directories("out");
    const std::string path = argc > 1 ? argv[1] : "out/xtensor_data.csv";
    if (argc == 1) write_example_csv(path);
    // [tutorial:xtensor_load]
    std::ifstream file(path);
    const xt::xtensor<double, 2> table = xt::load_csv<double>(file, ',', /*skip_rows=*/1);
    const std::size_t n = table.shape(0), n_train = n * 4 / 5;
    // rows [r0, r1) and columns [c0, c1) as a float32 tensor: evaluated once, into the tensor
    const auto part = [&](std::size_t r0, std::size_t r1, std::size_t c0, std::size_t c1) {
        return from_xtensor(xt::cast<float>(xt::view(table, xt::range(r0, r1), xt::range(c0, c1))));
    };
    TensorDataset train(part(0, n_train, 0, 2), part(0, n_train, 2, 3), {.shuffle = true});
    TensorDataset val(part(n_train, n, 0, 2), part(n_train, n, 2, 3));
    // [/tutorial:xtensor_load]

    // [tutorial:xtensor_fit]
    Sequential model{layers::input(2), layers::dense(32, "tanh"), layers::dense(1)};
    Adam optimizer(model.parameters(), {.lr = 1e-2});
    const FitResult r = fit(model, mse_loss, optimizer, train,
                            {.batch_size = 32, .epochs = 100, .validation_data = &val});
    // the predictions as an xt::xarray: a read-only view of the tensor, converted to double
    const Tensor predicted = predict(model, part(n_train, n, 0, 2));
    const xt::xarray<double> y_hat = xt::cast<double>(as_xtensor<const float>(predicted));
    const xt::xarray<double> y = xt::view(table, xt::range(n_train, n), xt::range(2, 3));
    std::ofstream out("out/xtensor_predictions.csv");
    out << "y,predicted\n";
    xt::dump_csv(out, xt::concatenate(xt::xtuple(y, y_hat), 1));
    fmt::print("{} rows: trained on {} for {} steps, validated on {}\n", n, n_train, r.steps,
               n - n_train);
    fmt::print("validation MSE {:.4f}; the variance of y is {:.3f}\n",
               xt::mean(xt::square(y_hat - y))(), xt::variance(y)());
    // [/tutorial:xtensor_fit]
    fmt::print("wrote out/xtensor_predictions.csv\n");
}
