// Seeded random numbers with the same sequence on every platform (std::normal_distribution's
// output is implementation-defined, so the distributions are our own).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace tapegrad {

// xoshiro256** seeded through splitmix64: fast, small state, easy to save in a checkpoint.
class Generator {
public:
    explicit Generator(std::uint64_t seed = 0) { seed_with(seed); }
    void seed_with(std::uint64_t seed);
    std::uint64_t next_u64();
    double uniform();                   // [0, 1)
    double uniform(double lo, double hi);
    double normal();                    // mean 0, std 1 (Box-Muller)
    std::uint64_t below(std::uint64_t n);  // [0, n)

    // The generator of stream `index` (> 0) derived from this one's state, which it leaves as it
    // is: data-parallel rank or shard `index` draws its dropout masks from it while rank 0 draws
    // from this one, so every part of a batch gets masks of its own.
    Generator derived(std::uint64_t index) const;
    std::array<std::uint64_t, 4> state() const { return s_; }
    void set_state(const std::array<std::uint64_t, 4>& s) { s_ = s; }
    // The state as 64 hex digits, for checkpoints (exact, where a JSON number holds 53 bits).
    std::string state_hex() const;
    // ValueError naming `what` unless `hex` is 64 hex digits of a nonzero state.
    void set_state_hex(std::string_view hex, std::string_view what);

    template <class T>
    void fill_uniform(std::span<T> out, double lo, double hi) {
        for (T& v : out) v = static_cast<T>(uniform(lo, hi));
    }
    template <class T>
    void fill_normal(std::span<T> out, double mean, double std) {
        for (T& v : out) v = static_cast<T>(mean + std * normal());
    }

private:
    std::array<std::uint64_t, 4> s_{};
};

// While alive, this thread's draws from each `from` generator come from its `to` instead (every
// draw goes through next_u64): the threads of a sharded step share the model's generators, and
// each shard but the first draws from derived ones. Other threads are unaffected; scopes nest.
class GeneratorRedirect {
public:
    struct Pair {
        const Generator* from;
        Generator* to;
    };
    explicit GeneratorRedirect(std::span<const Pair> pairs);
    ~GeneratorRedirect();
    GeneratorRedirect(const GeneratorRedirect&) = delete;
    GeneratorRedirect& operator=(const GeneratorRedirect&) = delete;

private:
    std::span<const Pair> pairs_;
    const GeneratorRedirect* outer_;
    friend class Generator;
};

// The seed of stream `index` of a run seeded with `seed` (an epoch's shuffle, a step's windows):
// the index goes through a multiply by an odd constant, a bijection, so neighbouring indices give
// unrelated streams once splitmix64 seeds a Generator with the result.
std::uint64_t stream_seed(std::uint64_t seed, std::uint64_t index);

// The generator used when no seed is given; manual_seed resets it.
Generator& global_generator();
void manual_seed(std::uint64_t seed);

}  // namespace tapegrad
