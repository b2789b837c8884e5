// What `tapegrad train` trains on: a text file (character tokens) or an llm.c token file
// (recognised by its magic number), split into training and validation tokens.
#pragma once

#include <filesystem>
#include <optional>

#include "train/data.hpp"
#include "train/tokenizer.hpp"

namespace tapegrad::cli {

struct TrainData {
    TokenData train{{}};
    TokenData val{{}};
    std::optional<CharTokenizer> tokenizer;  // text data only
    std::int64_t vocab_size = 0;             // the tokenizer's size, or the largest token id + 1
};

// `tokenizer`: the model's vocabulary when it has one (from --init or --resume); the text must then
// use only its characters. Without one a text gets its own vocabulary.
TrainData load_train_data(const std::filesystem::path& path, const std::optional<CharTokenizer>& tokenizer,
                          double val_fraction);

}  // namespace tapegrad::cli
