#include "train/overfit_watch.hpp"

#include <fmt/format.h>

namespace tapegrad {

std::optional<std::string> OverfitWatch::observe(double train_loss, double val_loss) {
    const bool diverging = last_val_ && val_loss > *last_val_ && train_loss < *last_train_;
    streak_ = diverging ? streak_ + 1 : 0;
    last_train_ = train_loss;
    last_val_ = val_loss;
    if (warned_ || streak_ < needed_) return std::nullopt;
    warned_ = true;
    return fmt::format(
        "validation has risen for {} evaluations while training loss fell: overfitting? (more "
        "data, dropout, weight decay or an earlier stop help)",
        needed_);
}

}  // namespace tapegrad
