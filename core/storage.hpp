// Storage: one aligned buffer. Freed buffers go back to a pool keyed by size, so a training loop
// that allocates the same activations every step stops calling malloc after its first step.
#pragma once

#include <cstddef>
#include <memory>

namespace tapegrad {

class Storage {
public:
    explicit Storage(std::size_t bytes);
    ~Storage();
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;

    void* data() const { return data_; }
    std::size_t bytes() const { return bytes_; }

private:
    void* data_;
    std::size_t bytes_;
};

// Bytes currently cached by the pool, and a way to give them back to the system.
std::size_t storage_pool_cached_bytes();
// How many buffers the pool has had to get from the system so far (a training step after the
// first should add none: tests/test_storage_pool.cpp).
std::size_t storage_system_allocations();
void storage_pool_release();

}  // namespace tapegrad
