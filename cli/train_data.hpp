// What `tapegrad train` trains on: a text file (character tokens) or an llm.c token file
// (recognised by its magic number), split into training and validation tokens.
#pragma once

#include <filesystem>
#include <optional>

#include "io/text_tokenizer.hpp"
#include "train/data.hpp"

namespace tapegrad::cli {

struct TrainData {
    TokenData train{{}};
    TokenData val{{}};
    std::optional<TextTokenizer> tokenizer;  // text data only
    std::int64_t vocab_size = 0;             // the tokenizer's size, or the largest token id + 1
};

// `tokenizer`: the model's when it has one (from --init or --resume, or --tokenizer); a character
// vocabulary must then cover the text. Without one a text gets its own character vocabulary.
TrainData load_train_data(const std::filesystem::path& path,
                          const std::optional<TextTokenizer>& tokenizer, double val_fraction);

}  // namespace tapegrad::cli
