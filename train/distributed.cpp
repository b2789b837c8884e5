#include "train/distributed.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <numeric>
#include <string>

#include "core/random.hpp"
#include "train/distributed_comm.hpp"

namespace tapegrad {
namespace comm = detail::comm;
namespace {

constexpr std::size_t state_hex_digits = 64;  // Generator::state_hex

// A generator state for rank r > 0, derived from rank 0's: unrelated streams for different r.
std::string rank_state(const std::string& root_state, int rank) {
    Generator root;
    root.set_state_hex(root_state, "rank 0's generator");
    return root.derived(static_cast<std::uint64_t>(rank)).state_hex();
}

}  // namespace

bool mpi_built() { return comm::built_with_mpi(); }

DistributedRuntime::DistributedRuntime(int& argc, char**& argv) { comm::init(argc, argv); }
DistributedRuntime::~DistributedRuntime() { comm::finalize(); }
int DistributedRuntime::rank() const { return comm::rank(); }
int DistributedRuntime::size() const { return comm::size(); }

int DistributedRuntime::fail(std::string_view prefix, std::string_view message) const {
    constexpr double wait_for_others = 5.0;  // seconds; ranks failing alike fail within this
    if (comm::all_failed_within(wait_for_others)) {
        if (rank() == 0) fmt::print(stderr, "{}: error: {}\n", prefix, message);
        return 1;
    }
    fmt::print(stderr, "{}: error on rank {} of {}: {}\n", prefix, rank(), size(), message);
    std::fflush(stderr);
    comm::abort_all(1);
}

FlatBuckets::FlatBuckets(const std::vector<Tensor>& layout, std::size_t bucket_bytes) {
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < layout.size(); ++i) {
        const Tensor& t = layout[i];
        const std::size_t size = static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype());
        numel_.push_back(t.numel());
        dtype_.push_back(t.dtype());
        if (buckets_.empty() || buckets_.back().dtype != t.dtype() || bytes + size > bucket_bytes) {
            buckets_.push_back({.dtype = t.dtype(), .first = i, .last = i, .numel = 0, .data = {}});
            bytes = 0;
        }
        Bucket& b = buckets_.back();
        b.last = i + 1;
        b.numel += t.numel();
        bytes += size;
    }
    for (Bucket& b : buckets_)
        b.data.resize(static_cast<std::size_t>(b.numel) * dtype_size(b.dtype));
}

bool FlatBuckets::matches(const std::vector<Tensor>& tensors) const {
    if (tensors.size() != numel_.size()) return false;
    for (std::size_t i = 0; i < tensors.size(); ++i)
        if (tensors[i].numel() != numel_[i] || tensors[i].dtype() != dtype_[i]) return false;
    return true;
}

void FlatBuckets::expect_like_layout(std::size_t index, const Tensor& t) const {
    if (t.numel() != numel_[index] || t.dtype() != dtype_[index])
        throw ValueError(fmt::format("FlatBuckets: tensor {} has {} {} elements, the layout {} {}",
                                     index, t.numel(), dtype_name(t.dtype()), numel_[index],
                                     dtype_name(dtype_[index])));
}

void FlatBuckets::pack(std::size_t i, const std::vector<Tensor>& tensors) {
    Bucket& b = buckets_[i];
    std::byte* out = b.data.data();
    for (std::size_t k = b.first; k < b.last; ++k) {
        const std::size_t bytes = static_cast<std::size_t>(numel_[k]) * dtype_size(b.dtype);
        if (tensors[k].defined()) {
            expect_like_layout(k, tensors[k]);
            std::memcpy(out, tensors[k].raw_data(), bytes);
        } else {
            std::memset(out, 0, bytes);  // all-zero bits are 0 in every dtype
        }
        out += bytes;
    }
}

void FlatBuckets::unpack(std::size_t i, const std::vector<Tensor>& tensors, double scale) const {
    const Bucket& b = buckets_[i];
    const std::byte* in = b.data.data();
    for (std::size_t k = b.first; k < b.last; ++k) {
        const std::size_t bytes = static_cast<std::size_t>(numel_[k]) * dtype_size(b.dtype);
        const Tensor& t = tensors[k];
        if (t.defined()) {
            expect_like_layout(k, t);
            std::memcpy(t.raw_data(), in, bytes);
            if (scale != 1.0)
                dispatch("FlatBuckets::unpack", b.dtype, [&]<class T>() {
                    for (T& v : t.span<T>()) v = static_cast<T>(v * scale);
                });
        }
        in += bytes;
    }
}

int DataParallel::rank() const { return comm::rank(); }
int DataParallel::size() const { return comm::size(); }

void DataParallel::expect_divisible(std::string_view what, std::int64_t batch) const {
    if (batch % size() != 0)
        throw ValueError(fmt::format(
            "data-parallel: {} of {} sequences does not divide among {} ranks ({} % {} = {}); "
            "use a multiple of {}",
            what, batch, size(), batch, size(), batch % size(), size()));
}

void DataParallel::expect_same(std::string_view what, std::uint64_t value) const {
    std::uint64_t min = 0, max = 0;
    comm::allreduce_min_max(value, min, max);
    if (min != max)
        throw ValueError(
            fmt::format("data-parallel: the ranks disagree on {} ({} vs {}); start "
                        "every rank with the same command and data",
                        what, min, max));
}

void DataParallel::broadcast_state(Module& model) const {
    if (size() == 1) return;
    std::vector<Tensor> tensors;
    for (const auto& [name, t] : model.state_dict()) tensors.push_back(t);
    FlatBuckets buckets(tensors, opt_.bucket_bytes);
    for (std::size_t i = 0; i < buckets.count(); ++i) {
        if (is_root()) buckets.pack(i, tensors);
        comm::broadcast(buckets[i].data.data(), buckets[i].data.size());
        if (!is_root()) buckets.unpack(i, tensors);
    }
}

void DataParallel::split_generators(Module& model) const {
    if (size() == 1) return;
    std::map<std::string, std::string> states = model.generator_states();
    if (states.empty()) return;
    std::string all;  // the states in name order, the same order on every rank
    for (const auto& [name, state] : states) all += state;
    comm::broadcast(all.data(), all.size());
    if (is_root()) return;
    std::size_t at = 0;
    for (auto& [name, state] : states) {
        state = rank_state(all.substr(at, state_hex_digits), rank());
        at += state_hex_digits;
    }
    model.load_generator_states(states);
}

void DataParallel::average_gradients(const std::vector<Tensor>& params) {
    if (size() == 1) return;
    if (!gradients_ || !gradients_->matches(params)) gradients_.emplace(params, opt_.bucket_bytes);
    std::vector<Tensor> grads;
    for (const Tensor& p : params) grads.push_back(p.grad());
    for (std::size_t i = 0; i < gradients_->count(); ++i) {
        FlatBuckets::Bucket& b = (*gradients_)[i];
        gradients_->pack(i, grads);
        comm::allreduce_sum(b.data.data(), b.numel, b.dtype);
        gradients_->unpack(i, grads, 1.0 / size());
    }
}

double DataParallel::mean(double value) const {
    comm::allreduce_sum(&value, 1, f64);
    return value / size();
}

double DataParallel::max(double value) const { return comm::allreduce_max(value); }
bool DataParallel::any(bool value) const { return comm::allreduce_max(value ? 1.0 : 0.0) > 0; }

RankShare::RankShare(const DataSource& data, int rank, int ranks)
    : data_(data), rank_(rank), ranks_(ranks) {
    if (ranks <= 0 || rank < 0 || rank >= ranks)
        throw ValueError(fmt::format("RankShare: rank {} of {} does not exist", rank, ranks));
}

Batch RankShare::batch(std::int64_t step, std::int64_t batch_size) const {
    return batch_part(data_.batch(step, batch_size), rank_, ranks_,
                      fmt::format("data-parallel: step {}", step), "ranks");
}

}  // namespace tapegrad
