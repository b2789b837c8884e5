#include "core/storage.hpp"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tapegrad {
namespace {

constexpr std::size_t alignment = 64;  // a cache line, and enough for AVX-512 loads
constexpr std::size_t max_cached_bytes = std::size_t{4} << 30;

class Pool {
public:
    void* take(std::size_t bytes) {
        {
            std::lock_guard lock(mutex_);
            auto it = free_.find(bytes);
            if (it != free_.end() && !it->second.empty()) {
                void* p = it->second.back();
                it->second.pop_back();
                cached_ -= bytes;
                return p;
            }
        }
        system_allocations_.fetch_add(1, std::memory_order_relaxed);
        const std::size_t rounded = (bytes + alignment - 1) / alignment * alignment;
        void* p = std::aligned_alloc(alignment, rounded == 0 ? alignment : rounded);
        if (!p) throw std::bad_alloc();
        return p;
    }
    void give(void* p, std::size_t bytes) {
        {
            std::lock_guard lock(mutex_);
            if (cached_ + bytes <= max_cached_bytes) {
                free_[bytes].push_back(p);
                cached_ += bytes;
                return;
            }
        }
        std::free(p);
    }
    std::size_t system_allocations() const { return system_allocations_.load(std::memory_order_relaxed); }
    std::size_t cached() {
        std::lock_guard lock(mutex_);
        return cached_;
    }
    void release() {
        std::lock_guard lock(mutex_);
        for (auto& [bytes, list] : free_)
            for (void* p : list) std::free(p);
        free_.clear();
        cached_ = 0;
    }
private:
    std::mutex mutex_;
    std::unordered_map<std::size_t, std::vector<void*>> free_;
    std::size_t cached_ = 0;
    std::atomic<std::size_t> system_allocations_{0};
};

// Never destroyed: tensors held by other static objects may be freed after main returns.
Pool& pool() {
    static Pool* instance = new Pool;
    return *instance;
}

}  // namespace

Storage::Storage(std::size_t bytes) : data_(pool().take(bytes)), bytes_(bytes) {}
Storage::Storage(std::shared_ptr<void> owner, void* data, std::size_t bytes)
    : data_(data), bytes_(bytes), owner_(std::move(owner)) {}
Storage::~Storage() {
    if (!owner_) pool().give(data_, bytes_);
}

std::size_t storage_pool_cached_bytes() { return pool().cached(); }
void storage_pool_release() { pool().release(); }
std::size_t storage_system_allocations() { return pool().system_allocations(); }

}  // namespace tapegrad
