// parse_safetensors on arbitrary bytes: an IoError or a file that survives a round trip through
// serialize_safetensors unchanged (names, metadata, dtypes, shapes and bytes).
#include <cstring>

#include "fuzz_common.hpp"
#include "io/safetensors.hpp"

using namespace tapegrad;

namespace {

bool same(const SafetensorsFile& a, const SafetensorsFile& b) {
    if (a.metadata != b.metadata || a.tensors.size() != b.tensors.size()) return false;
    for (const auto& [name, t] : a.tensors) {
        const auto it = b.tensors.find(name);
        if (it == b.tensors.end()) return false;
        const Tensor& u = it->second;
        if (t.dtype() != u.dtype() || !(t.shape() == u.shape())) return false;
        const std::size_t n = static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype());
        if (n && std::memcmp(t.raw_data(), u.raw_data(), n) != 0) return false;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    SafetensorsFile file;
    if (!fuzz::accepted([&] { file = parse_safetensors(fuzz::bytes_of(data, size), "fuzz"); }))
        return 0;
    const std::vector<std::byte> again = serialize_safetensors(file);
    fuzz::require(same(parse_safetensors(again, "round trip"), file),
                  "a parsed file changed in a serialize/parse round trip");
    return 0;
}
