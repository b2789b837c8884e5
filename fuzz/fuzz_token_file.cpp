// parse_token_file on arbitrary bytes: an IoError, or tokens in 0..65535 whose count matches the
// file size and that survive a serialize/parse round trip.
#include "fuzz_common.hpp"
#include "io/token_file.hpp"

using namespace tapegrad;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::int32_t> tokens;
    if (!fuzz::accepted([&] { tokens = parse_token_file(fuzz::bytes_of(data, size), "fuzz"); }))
        return 0;
    fuzz::require(1024 + 2 * tokens.size() == size, "the token count disagrees with the size");
    for (std::int32_t t : tokens) fuzz::require(t >= 0 && t <= 65535, "a token outside uint16");
    fuzz::require(parse_token_file(serialize_token_file(tokens), "round trip") == tokens,
                  "tokens changed in a serialize/parse round trip");
    return 0;
}
