// Notices the usual sign of overfitting in a run's evaluations: validation loss rising several
// evaluations in a row while the training loss keeps falling. ProgressLogger prints its warning.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tapegrad {

class OverfitWatch {
public:
    explicit OverfitWatch(std::int64_t evaluations = 3) : needed_(evaluations) {}
    // Takes one evaluation (the mean training loss since the previous one, and the validation
    // loss); returns the warning the first time validation has risen for `evaluations` in a row
    // while training fell each time, and nothing before or after.
    std::optional<std::string> observe(double train_loss, double val_loss);

private:
    std::int64_t needed_;
    std::int64_t streak_ = 0;
    bool warned_ = false;
    std::optional<double> last_train_, last_val_;
};

}  // namespace tapegrad
