// The README's 20-line training program: a Sequential MLP learns y = tanh(3·x0) + x1² with fit(),
// early stopping and a progress bar, then compares its validation error with the target's variance.
#include <fmt/format.h>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/layers/sequential.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/train/callbacks.hpp>
#include <tapegrad/train/fit.hpp>

using namespace tapegrad;

Tensor target(const Tensor& x) { return tanh(3.0 * slice(x, 1, 0, 1)) + pow(slice(x, 1, 1, 2), 2); }

int main() {
    const Tensor x = uniform({2048, 2}, -1, 1, {.seed = 1}),
                 x_val = uniform({512, 2}, -1, 1, {.seed = 2});
    TensorDataset train(x, target(x), {.shuffle = true}), val(x_val, target(x_val));
    Sequential model{layers::input(2), layers::dense(64, "tanh"), layers::dense(64, "tanh"),
                     layers::dense(1)};
    Adam optimizer(model.parameters(), {.lr = 3e-3});
    ProgressLogger progress;
    EarlyStopping early({.patience = 5, .restore_best_weights = true});
    const FitResult r =
        fit(model, mse_loss, optimizer, train,
            {.batch_size = 64, .epochs = 60, .validation_data = &val, .validation_every = 32},
            {progress, early});
    const Tensor y_val = target(x_val);  // predicting its mean would score its variance:
    const double variance = mse_loss(y_val, full(y_val.shape(), mean(y_val).item())).item();
    fmt::print("RESULT: validation MSE {:.5f} after {} steps; the target's variance is {:.3f}\n",
               r.val_loss.value_or(NAN), r.steps, variance);
}
