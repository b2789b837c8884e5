// Storage: one aligned buffer. Freed buffers go back to a pool keyed by size, so a training loop
// that allocates the same activations every step stops calling malloc after its first step.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>

namespace tapegrad {

class Storage {
public:
    explicit Storage(std::size_t bytes);
    // A buffer allocated elsewhere, kept alive by `owner` and never pooled: from_xtensor moves an
    // xt::xarray's buffer in this way (core/xtensor.hpp).
    Storage(std::shared_ptr<void> owner, void* data, std::size_t bytes);
    ~Storage();
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;

    void* data() const { return data_; }
    std::size_t bytes() const { return bytes_; }

    // Live tape nodes that keep this buffer for their backward (autograd/tape.cpp counts them) and
    // writable xtensor views open on it (core/xtensor.hpp). The two exclude each other, so a write
    // cannot corrupt a backward: as_xtensor refuses a writable view of a held buffer, and record()
    // refuses to keep a buffer that such a view is open on.
    void hold_for_backward() { holds_.fetch_add(1, std::memory_order_relaxed); }
    void release_for_backward() { holds_.fetch_sub(1, std::memory_order_relaxed); }
    bool held_for_backward() const { return holds_.load(std::memory_order_relaxed) > 0; }
    void open_writer() { writers_.fetch_add(1, std::memory_order_relaxed); }
    void close_writer() { writers_.fetch_sub(1, std::memory_order_relaxed); }
    bool has_writer() const { return writers_.load(std::memory_order_relaxed) > 0; }

private:
    void* data_;
    std::size_t bytes_;
    std::shared_ptr<void> owner_;  // set for an adopted buffer
    std::atomic<int> holds_{0};
    std::atomic<int> writers_{0};
};

// Bytes currently cached by the pool, and a way to give them back to the system.
std::size_t storage_pool_cached_bytes();
// How many buffers the pool has had to get from the system so far (a training step after the
// first should add none: tests/test_storage_pool.cpp).
std::size_t storage_system_allocations();
void storage_pool_release();

}  // namespace tapegrad
