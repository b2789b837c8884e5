// The safetensors format (Hugging Face): an 8-byte little-endian length N, N bytes of JSON header
//   {"__metadata__": {string: string}, "<name>": {"dtype": "F32", "shape": [2,3], "data_offsets":
//   [b,e]}}
// padded with spaces, then the raw little-endian data, offsets counted from the end of the header.
// dtypes: F32 ↔ f32, F64 ↔ f64, I32 ↔ i32, BOOL ↔ b8; U8 also reads as b8 when every byte is 0
// or 1; F16 and BF16 read into f32 (exactly), and f32 is written as them on request.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.hpp"

namespace tapegrad {

struct SafetensorsFile {
    std::map<std::string, Tensor> tensors;
    std::map<std::string, std::string> metadata;  // the header's "__metadata__"
};

// Checks everything before trusting it: header length, JSON syntax, duplicate keys, UTF-8, each
// entry's dtype, shape and offsets, and that the tensors tile the data section exactly. Any problem
// is an IoError "<name_for_errors>: <what>" naming the tensor or file offset; no input can read out
// of bounds.
SafetensorsFile parse_safetensors(std::span<const std::byte> bytes,
                                  std::string_view name_for_errors);
SafetensorsFile load_safetensors(const std::filesystem::path& path);

// Header keys in sorted order, data packed in that order, header padded with spaces to a multiple
// of 8 (as the reference writer does); "__metadata__" only when there is metadata. b8 is written as
// BOOL (nonzero as 1). ValueError on an undefined tensor, the reserved name "__metadata__" or
// non-UTF-8 text.
// floats: how f32 tensors are stored; F16 and BF16 round to nearest even (core/half.hpp: past
// 65504 an F16 is infinite), halving the file.
enum class FloatFormat { as_is, f16, bf16 };
std::vector<std::byte> serialize_safetensors(const SafetensorsFile& file,
                                             FloatFormat floats = FloatFormat::as_is);
void save_safetensors(const std::filesystem::path& path, const SafetensorsFile& file,
                      FloatFormat floats = FloatFormat::as_is);  // atomic

}  // namespace tapegrad
