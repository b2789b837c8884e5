// What every harness shares: the input as bytes, and the rule that a parser may refuse an input
// only with its documented IoError. Any other exception escapes LLVMFuzzerTestOneInput, and
// libFuzzer reports it as a crash, as it does for sanitizer errors and failed round trips.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

#include "core/error.hpp"

namespace tapegrad::fuzz {

inline std::span<const std::byte> bytes_of(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const std::byte*>(data), size};
}

inline std::string_view text_of(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// Calls parse(); returns false when it refused the input with an IoError.
template <class Parse>
bool accepted(Parse&& parse) {
    try {
        parse();
        return true;
    } catch (const IoError&) {
        return false;
    }
}

// A property of an accepted input that must hold; a failure is a crash libFuzzer keeps.
inline void require(bool ok, const char* what) {
    if (ok) return;
    std::fprintf(stderr, "fuzz: %s\n", what);
    std::abort();
}

}  // namespace tapegrad::fuzz
