#include "core/random.hpp"

#include <charconv>
#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "core/error.hpp"

namespace tapegrad {
namespace {

thread_local const GeneratorRedirect* innermost_redirect = nullptr;

}  // namespace

GeneratorRedirect::GeneratorRedirect(std::span<const Pair> pairs)
    : pairs_(pairs), outer_(innermost_redirect) {
    innermost_redirect = this;
}

GeneratorRedirect::~GeneratorRedirect() { innermost_redirect = outer_; }

void Generator::seed_with(std::uint64_t seed) {
    // splitmix64 spreads any seed (even 0) over the whole state.
    for (auto& word : s_) {
        seed += 0x9e3779b97f4a7c15ULL;
        std::uint64_t z = seed;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        word = z ^ (z >> 31);
    }
}

std::string Generator::state_hex() const {
    return fmt::format("{:016x}{:016x}{:016x}{:016x}", s_[0], s_[1], s_[2], s_[3]);
}

void Generator::set_state_hex(std::string_view hex, std::string_view what) {
    std::array<std::uint64_t, 4> s{};
    bool ok = hex.size() == 64;
    for (std::size_t i = 0; ok && i < 4; ++i) {
        const char* end = hex.data() + 16 * (i + 1);
        const auto [stop, error] = std::from_chars(hex.data() + 16 * i, end, s[i], 16);
        ok = error == std::errc() && stop == end;
    }
    if (!ok) throw ValueError(fmt::format("{}: a generator state must be 64 hex digits", what));
    if (s == std::array<std::uint64_t, 4>{}) throw ValueError(fmt::format("{}: an all-zero generator state is invalid", what));
    s_ = s;
}

std::uint64_t Generator::next_u64() {
    for (const GeneratorRedirect* r = innermost_redirect; r; r = r->outer_)
        for (const GeneratorRedirect::Pair& pair : r->pairs_)
            if (pair.from == this) return pair.to->next_u64();
    const auto rotl = [](std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); };
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

double Generator::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

double Generator::uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

double Generator::normal() {
    // 1 - u keeps the logarithm's argument in (0, 1].
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

std::uint64_t Generator::below(std::uint64_t n) { return n == 0 ? 0 : next_u64() % n; }

Generator Generator::derived(std::uint64_t index) const {
    Generator root = *this;
    return Generator(root.next_u64() ^ (0x9E3779B97F4A7C15ULL * index));
}

std::uint64_t stream_seed(std::uint64_t seed, std::uint64_t index) {
    return seed ^ (0x9E3779B97F4A7C15ULL * (index + 1));
}

Generator& global_generator() {
    static Generator instance(0);
    return instance;
}

void manual_seed(std::uint64_t seed) { global_generator().seed_with(seed); }

}  // namespace tapegrad
