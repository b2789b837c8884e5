#include "io/safetensors.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <ostream>
#include <set>
#include <tuple>
#include <utility>

#include "core/error.hpp"
#include "core/half.hpp"
#include "core/utf8.hpp"
#include "io/atomic_file.hpp"
#include "io/json_strict.hpp"

namespace tapegrad {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors data is read as host order");

using json = nlohmann::json;
constexpr std::uint64_t max_header_bytes = 100'000'000;  // the reference implementation's limit
constexpr int max_json_depth = 2;  // root object > tensor entry > shape list: nothing opens deeper
constexpr std::uint64_t max_count = std::numeric_limits<std::int64_t>::max();
// Files stay at rank 8, the limit the format's readers here have always stated; tensors in memory
// may go higher (Shape::max_rank).
constexpr std::size_t max_file_rank = 8;

template <class... Args>
[[noreturn]] void bad(std::string_view file, fmt::format_string<Args...> what, Args&&... args) {
    throw_io_error(file, fmt::format(what, std::forward<Args>(args)...));
}

// A file dtype, the tensor dtype it reads into, and its width in the file: F16 and BF16 widen
// into f32 exactly (core/half.hpp).
struct DTypeName {
    std::string_view name;
    DType dtype;
    std::size_t file_bytes;
};
constexpr DTypeName dtype_names[] = {{"F32", f32, 4}, {"F64", f64, 8}, {"I32", i32, 4},
                                     {"BOOL", b8, 1}, {"U8", b8, 1},   {"F16", f32, 2},
                                     {"BF16", f32, 2}};

// How a tensor is written: its dtype's first name (b8 as BOOL), or F16/BF16 for f32 when asked.
const DTypeName& stored_as(const Tensor& t, FloatFormat floats) {
    const std::string_view name = t.dtype() != f32 || floats == FloatFormat::as_is ? ""
                                  : floats == FloatFormat::f16                     ? "F16"
                                                                                   : "BF16";
    for (const DTypeName& d : dtype_names)
        if (name.empty() ? d.dtype == t.dtype() : d.name == name) return d;
    throw ValueError(
        fmt::format("safetensors: dtype {} has no safetensors name", dtype_name(t.dtype())));
}

// A tensor's header entry, checked against the data section's size.
struct Entry {
    std::string name;
    std::string_view file_dtype;
    DType dtype = f32;
    std::size_t file_bytes = 4;  // one element's width in the file
    Shape shape;
    std::uint64_t begin = 0, end = 0;
};

// The header bytes after the length field, with the length, UTF-8 and the opening brace checked.
std::string_view header_text(std::span<const std::byte> bytes, std::string_view file) {
    if (bytes.size() < 8)
        bad(file, "file is {} bytes, too short for the 8-byte header length", bytes.size());
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = n << 8 | std::to_integer<std::uint64_t>(bytes[i]);
    if (n > max_header_bytes)
        bad(file, "header length {} exceeds the limit of {} bytes", n, max_header_bytes);
    if (n > bytes.size() - 8)
        bad(file,
            "header length {} runs past the end of the file ({} bytes follow the length field)", n,
            bytes.size() - 8);
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()) + 8, n);
    if (text.empty() || text.front() != '{')
        bad(file, "header is not a JSON object (it must start with '{{' at file offset 8)");
    return text;
}

std::map<std::string, std::string> parse_metadata(const json& v, std::string_view file) {
    if (!v.is_object()) bad(file, "__metadata__ is not an object ({})", short_dump(v));
    std::map<std::string, std::string> metadata;
    for (const auto& [key, value] : v.items()) {
        if (!value.is_string())
            bad(file, "__metadata__ '{}' is not a string ({}): metadata maps strings to strings",
                key, short_dump(value));
        metadata.emplace(key, value.get<std::string>());
    }
    return metadata;
}

// A JSON list of non-negative integers no larger than int64's maximum; nullopt for anything else
// (negatives parse as signed, 2.0 and 1e3 as floats, numbers past 2^64 as floats).
std::optional<std::vector<std::uint64_t>> counts(const json& v, std::size_t max_size) {
    if (!v.is_array() || v.size() > max_size) return std::nullopt;
    std::vector<std::uint64_t> out;
    for (const json& x : v) {
        if (!x.is_number_unsigned() || x.get<std::uint64_t>() > max_count) return std::nullopt;
        out.push_back(x.get<std::uint64_t>());
    }
    return out;
}

// Bytes of `shape` at `element` bytes each, or nullopt on overflow. Zero dims are skipped so that
// [0, 2^62, 2^62] is refused too: Shape::numel would overflow on the way to its zero.
std::optional<std::uint64_t> byte_size(const Shape& shape, std::size_t element) {
    std::uint64_t n = element;
    bool empty = false;
    for (std::int64_t d : shape) {
        if (d == 0)
            empty = true;
        else if (__builtin_mul_overflow(n, static_cast<std::uint64_t>(d), &n) || n > max_count)
            return std::nullopt;
    }
    return empty ? 0 : n;
}

const DTypeName& read_dtype(const Entry& e, const json& v, std::string_view file) {
    if (!v.is_string()) bad(file, "tensor '{}': dtype is not a string ({})", e.name, short_dump(v));
    for (const DTypeName& d : dtype_names)
        if (d.name == v.get_ref<const std::string&>()) return d;
    bad(file, "tensor '{}': dtype {} is not supported (F32, F64, F16, BF16, I32, BOOL, U8)", e.name,
        short_dump(v));
}

Shape read_shape(const Entry& e, const json& v, std::string_view file) {
    if (v.is_array() && v.size() > max_file_rank)
        bad(file, "tensor '{}': rank {} exceeds the maximum of {}", e.name, v.size(),
            max_file_rank);
    const auto dims = counts(v, max_file_rank);
    if (!dims)
        bad(file, "tensor '{}': shape must be a list of non-negative integers ({})", e.name,
            short_dump(v));
    std::vector<std::int64_t> signed_dims(dims->begin(), dims->end());
    try {
        return Shape(signed_dims);
    } catch (const ShapeError&) {  // more elements than 2^63 − 1
        bad(file, "tensor '{}': the size of shape [{}] overflows", e.name,
            fmt::join(signed_dims, ","));
    }
}

void read_offsets(Entry& e, const json& v, std::uint64_t data_size, std::string_view file) {
    const auto offsets = counts(v, 2);
    if (!offsets || offsets->size() != 2)
        bad(file, "tensor '{}': data_offsets must be two non-negative integers ({})", e.name,
            short_dump(v));
    e.begin = (*offsets)[0];
    e.end = (*offsets)[1];
    if (e.begin > e.end)
        bad(file, "tensor '{}': data_offsets [{},{}] end before they begin", e.name, e.begin,
            e.end);
    if (e.end > data_size)
        bad(file, "tensor '{}': data_offsets [{},{}] run past the end of the {}-byte data section",
            e.name, e.begin, e.end, data_size);
    const auto need = byte_size(e.shape, e.file_bytes);
    if (!need) bad(file, "tensor '{}': the size of shape {} overflows", e.name, e.shape);
    if (e.end - e.begin != *need)
        bad(file, "tensor '{}': data_offsets [{},{}] hold {} bytes but {} shape {} needs {}",
            e.name, e.begin, e.end, e.end - e.begin, e.file_dtype, e.shape, *need);
}

Entry parse_entry(const std::string& name, const json& v, std::uint64_t data_size,
                  std::string_view file) {
    Entry e{.name = name};
    if (!v.is_object()) bad(file, "tensor '{}': entry is not an object ({})", name, short_dump(v));
    constexpr std::string_view keys[] = {"dtype", "shape", "data_offsets"};
    for (const auto& [key, value] : v.items())
        if (std::find(std::begin(keys), std::end(keys), key) == std::end(keys))
            bad(file, "tensor '{}': unknown key '{}'", name, key);
    for (std::string_view key : keys)
        if (!v.contains(key)) bad(file, "tensor '{}': missing '{}'", name, key);
    const DTypeName& dtype = read_dtype(e, v.at("dtype"), file);
    e.dtype = dtype.dtype;
    e.file_dtype = dtype.name;
    e.file_bytes = dtype.file_bytes;
    e.shape = read_shape(e, v.at("shape"), file);
    read_offsets(e, v.at("data_offsets"), data_size, file);
    return e;
}

// The tensors must tile the data section: sorted by offset, each starts where the previous one
// ended, the last ends at the end of the file. Overlaps would alias, gaps and tails would hide
// data.
void check_layout(std::vector<Entry>& entries, std::uint64_t data_size, std::string_view file) {
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
    });
    std::uint64_t at = 0;
    const Entry* previous = nullptr;
    for (const Entry& e : entries) {
        if (e.begin < at)
            bad(file,
                "tensor '{}' (data_offsets [{},{}]) overlaps tensor '{}' (data_offsets [{},{}])",
                e.name, e.begin, e.end, previous->name, previous->begin, previous->end);
        if (e.begin > at)
            bad(file, "gap of {} unused bytes before tensor '{}' (data_offsets [{},{}])",
                e.begin - at, e.name, e.begin, e.end);
        at = e.end;
        previous = &e;
    }
    if (at != data_size)
        bad(file, "{} trailing bytes after the last tensor (the data section is {} bytes)",
            data_size - at, data_size);
}

// F16 or BF16 elements of the file widened into a float32 tensor.
void widen_half(const Entry& e, std::span<const std::byte> data, Tensor& t) {
    float* out = t.data<float>();
    const auto* in = data.data() + e.begin;
    float (*const widen)(std::uint16_t) = e.file_dtype == "F16" ? f16_to_float : bf16_to_float;
    for (std::int64_t i = 0; i < t.numel(); ++i) {
        std::uint16_t bits = 0;
        std::memcpy(&bits, in + 2 * i, 2);
        out[i] = widen(bits);
    }
}

Tensor make_tensor(const Entry& e, std::span<const std::byte> data, std::string_view file) {
    Tensor t = Tensor::empty(e.shape, e.dtype);
    const std::size_t n = e.end - e.begin;
    if (e.file_bytes == 2) {
        widen_half(e, data, t);
        return t;
    }
    if (n > 0) std::memcpy(t.raw_data(), data.data() + e.begin, n);
    if (e.dtype == b8) {
        const auto* bits = static_cast<const std::uint8_t*>(t.raw_data());
        for (std::size_t i = 0; i < n; ++i)
            if (bits[i] > 1)
                bad(file, "tensor '{}': {} element {} is {}, not 0 or 1 (data offset {})", e.name,
                    e.file_dtype, i, bits[i], e.begin + i);
    }
    return t;
}

// Everything serialize and save write, in order, through `sink`.
using Sink = std::function<void(const void*, std::size_t)>;

void expect_utf8(std::string_view what, std::string_view text) {
    if (invalid_utf8_at(text) != std::string_view::npos)
        throw ValueError(fmt::format("safetensors: {} is not valid UTF-8", what));
}

std::uint64_t tensor_bytes(const std::string& name, const Tensor& t, FloatFormat floats) {
    expect_utf8("a tensor name", name);
    if (name == "__metadata__")
        throw ValueError("safetensors: '__metadata__' is reserved, not a tensor name");
    if (!t.defined()) throw ValueError(fmt::format("safetensors: tensor '{}' is undefined", name));
    if (t.rank() > max_file_rank)  // a file the reader would refuse
        throw ValueError(
            fmt::format("safetensors: tensor '{}' {}: rank {} exceeds the maximum "
                        "of {}",
                        name, t.shape(), t.rank(), max_file_rank));
    return static_cast<std::uint64_t>(t.numel()) * stored_as(t, floats).file_bytes;
}

// `{"key":value,...}` from encoded values; nlohmann escapes the keys.
using Members = std::vector<std::pair<std::string_view, std::string>>;
std::string json_object(const Members& members) {
    std::string out = "{";
    for (const auto& [key, value] : members) {
        if (out.size() > 1) out += ',';
        out += json(std::string(key)).dump() + ':' + value;
    }
    return out + '}';
}

// The header JSON, padded with spaces to a multiple of 8 so the data starts 8-aligned in the file.
// Built by hand to keep the reference writer's key order inside an entry (dtype, shape, offsets).
std::string header_json(const SafetensorsFile& file, FloatFormat floats) {
    Members members;
    if (!file.metadata.empty()) {
        Members metadata;
        for (const auto& [key, value] : file.metadata) {
            expect_utf8(fmt::format("metadata key '{}'", key), key);
            expect_utf8(fmt::format("metadata value of '{}'", key), value);
            metadata.emplace_back(key, json(value).dump());
        }
        members.emplace_back("__metadata__", json_object(metadata));
    }
    std::uint64_t offset = 0;
    for (const auto& [name, t] : file.tensors) {
        const std::uint64_t n = tensor_bytes(name, t, floats);
        members.emplace_back(
            name, fmt::format(R"({{"dtype":"{}","shape":[{}],"data_offsets":[{},{}]}})",
                              stored_as(t, floats).name, fmt::join(t.shape().dims(), ","), offset,
                              offset + n));
        offset += n;
    }
    std::string text = json_object(members);
    text.append((8 - text.size() % 8) % 8, ' ');
    return text;
}

// A float32 tensor's elements narrowed to F16 or BF16, rounding to nearest even.
std::vector<std::uint16_t> narrowed(const Tensor& t, FloatFormat floats) {
    std::vector<std::uint16_t> bits(static_cast<std::size_t>(t.numel()));
    const float* in = t.data<float>();
    std::uint16_t (*const narrow)(float) =
        floats == FloatFormat::f16 ? float_to_f16 : float_to_bf16;
    for (std::size_t i = 0; i < bits.size(); ++i) bits[i] = narrow(in[i]);
    return bits;
}

void emit(const SafetensorsFile& file, FloatFormat floats, const Sink& sink) {
    const std::string header = header_json(file, floats);
    std::uint8_t length[8];
    for (int i = 0; i < 8; ++i)
        length[i] = static_cast<std::uint8_t>(std::uint64_t{header.size()} >> (8 * i));
    sink(length, 8);
    sink(header.data(), header.size());
    for (const auto& [name, t] : file.tensors) {
        const auto n = static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype());
        if (t.dtype() == f32 && floats != FloatFormat::as_is) {
            const std::vector<std::uint16_t> bits = narrowed(t, floats);
            sink(bits.data(), 2 * bits.size());
            continue;
        }
        if (t.dtype() != b8) {
            sink(t.raw_data(), n);
            continue;
        }
        const auto* p = static_cast<const std::uint8_t*>(t.raw_data());
        std::vector<std::uint8_t> bits(p, p + n);
        for (auto& b : bits) b = b != 0;  // BOOL readers expect exactly 0 or 1
        sink(bits.data(), n);
    }
}

}  // namespace

SafetensorsFile parse_safetensors(std::span<const std::byte> bytes,
                                  std::string_view name_for_errors) {
    const std::string_view file = name_for_errors;
    const std::string_view text = header_text(bytes, file);
    const json header = parse_json_strict(
        text, {.file = file, .what = "header", .offset = 8, .max_depth = max_json_depth});
    const std::span<const std::byte> data = bytes.subspan(8 + text.size());
    SafetensorsFile out;
    std::vector<Entry> entries;
    for (const auto& [key, value] : header.items()) {
        if (key == "__metadata__")
            out.metadata = parse_metadata(value, file);
        else
            entries.push_back(parse_entry(key, value, data.size(), file));
    }
    check_layout(entries, data.size(), file);
    for (const Entry& e : entries) out.tensors.emplace(e.name, make_tensor(e, data, file));
    return out;
}

SafetensorsFile load_safetensors(const std::filesystem::path& path) {
    return parse_safetensors(read_file(path), path.string());
}

std::vector<std::byte> serialize_safetensors(const SafetensorsFile& file, FloatFormat floats) {
    std::vector<std::byte> out;
    emit(file, floats, [&](const void* p, std::size_t n) {
        const auto* b = static_cast<const std::byte*>(p);
        out.insert(out.end(), b, b + n);
    });
    return out;
}

void save_safetensors(const std::filesystem::path& path, const SafetensorsFile& file,
                      FloatFormat floats) {
    write_file_atomic(path, [&](std::ostream& os) {
        emit(file, floats, [&](const void* p, std::size_t n) {
            os.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
        });
    });
}

}  // namespace tapegrad
