// Strict JSON for files we did not write (safetensors headers, config.json): valid UTF-8, no
// duplicate keys (nlohmann would silently keep the last), no nesting past what the format needs.
// nlohmann already refuses NaN, Infinity and trailing garbage.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace tapegrad {

struct JsonSource {
    std::string_view file;   // names the file in errors
    std::string_view what;   // "header", "config": "<file>: <what> is not valid JSON ..."
    std::size_t offset = 0;  // file offset of the text's first byte, for error positions
    int max_depth = 2;       // objects and lists may open at depths 0..max_depth
};

// IoError "<file>: <what> ..." naming the offending byte or key on any problem.
nlohmann::json parse_json_strict(std::string_view text, const JsonSource& source);

// A value for an error message, cut short: a hostile file may hold megabytes in one value.
std::string short_dump(const nlohmann::json& v);

}  // namespace tapegrad
