// Data-parallel training across processes with MPI (docs/distributed.md). Every rank holds the
// whole model. Step s's global batch of B rows (the data source's batch(s, B), the same on every
// rank) is cut into N equal contiguous shares: rank r trains on rows [r·B/N, (r+1)·B/N). Rank 0's
// parameters are broadcast at the start, gradients are averaged over the ranks (one
// MPI_Allreduce per flat bucket of a few MB) before clipping, and every rank applies the same
// optimizer step. With equal shares the mean of the ranks' mean losses is the global batch's mean,
// so N ranks follow the run of one process with batch B.
//   int main(int argc, char** argv) {
//       DistributedRuntime runtime(argc, argv);  // MPI_Init under mpirun; MPI_Finalize at the end
//       DataParallel parallel;                   // this rank, of the world's N
//       fit(model, loss, optimizer, data, {.batch_size = 64, .data_parallel = &parallel},
//           callbacks);                          // give progress/metrics/checkpoint callbacks to
//           rank 0 only
//   }
// Built without MPI (CMake TAPEGRAD_MPI off) or started without an MPI launcher, the process is
// rank 0 of 1 and every collective leaves its input unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/tensor.hpp"
#include "layers/module.hpp"
#include "train/data_source.hpp"

namespace tapegrad {

bool mpi_built();  // tapegrad was built with MPI (TAPEGRAD_MPI)

// MPI for the life of this object, for main(): initialised when an MPI launcher (mpirun, srun)
// started the process, finalised by the destructor.
class DistributedRuntime {
public:
    DistributedRuntime(int& argc, char**& argv);
    ~DistributedRuntime();
    DistributedRuntime(const DistributedRuntime&) = delete;
    DistributedRuntime& operator=(const DistributedRuntime&) = delete;
    int rank() const;
    int size() const;
    // Reports an error that ends the program; returns the exit status (1). When every rank fails
    // within a few seconds (a bad setting all of them see), rank 0 alone prints
    // "<prefix>: error: <message>". A rank failing alone prints it with its rank and ends the whole
    // job (MPI_Abort): no rank is left waiting in a collective.
    int fail(std::string_view prefix, std::string_view message) const;
};

inline constexpr std::size_t default_bucket_bytes = std::size_t{4} << 20;

// A list of tensors (gradients, or a state dict) laid out in a few flat buffers, so that one
// collective call moves a whole bucket. Tensors keep their order; a bucket holds one dtype and at
// most `bucket_bytes`, except that a larger tensor gets a bucket of its own. The layout comes from
// the tensors given to the constructor; pack and unpack take tensors of the same sizes and dtypes.
class FlatBuckets {
public:
    struct Bucket {
        DType dtype = f32;
        std::size_t first = 0, last = 0;  // tensors [first, last)
        std::int64_t numel = 0;
        std::vector<std::byte> data;
    };
    explicit FlatBuckets(const std::vector<Tensor>& layout,
                         std::size_t bucket_bytes = default_bucket_bytes);
    std::size_t count() const { return buckets_.size(); }
    Bucket& operator[](std::size_t i) { return buckets_[i]; }
    const Bucket& operator[](std::size_t i) const { return buckets_[i]; }
    bool matches(const std::vector<Tensor>& tensors) const;  // same numels and dtypes
    // Copies bucket i's tensors into its buffer; an undefined tensor (no gradient) packs zeros.
    void pack(std::size_t i, const std::vector<Tensor>& tensors);
    // Copies bucket i's buffer times `scale` (floating dtypes only) back; undefined tensors
    // skipped.
    void unpack(std::size_t i, const std::vector<Tensor>& tensors, double scale = 1.0) const;

private:
    void expect_like_layout(std::size_t index, const Tensor& t) const;
    std::vector<std::int64_t> numel_;
    std::vector<DType> dtype_;
    std::vector<Bucket> buckets_;
};

struct DataParallelOptions {
    std::size_t bucket_bytes = default_bucket_bytes;
};

// The ranks of a data-parallel run (MPI's world) and what fit() asks of them. Every call is
// collective: all ranks make it, in the same order.
class DataParallel {
public:
    explicit DataParallel(DataParallelOptions options = {}) : opt_(options) {}
    int rank() const;
    int size() const;
    bool is_root() const { return rank() == 0; }
    // ValueError (alike on every rank) unless `batch` rows divide into equal shares.
    void expect_divisible(std::string_view what, std::int64_t batch) const;
    // ValueError on every rank when the ranks' values differ, naming `what` and two of the values.
    void expect_same(std::string_view what, std::uint64_t value) const;
    // Every parameter and buffer (the state dict) takes rank 0's values.
    void broadcast_state(Module& model) const;
    // Before each step: every generator of the model (dropout masks) takes rank 0's state; rank
    // r > 0 then reseeds it from that state and r. Rank 0 draws on as one process would, and a
    // checkpoint (rank 0's states) resumes the same per-rank streams on the same number of ranks.
    void split_generators(Module& model) const;
    // Each parameter's gradient becomes its mean over the ranks (one allreduce per bucket).
    void average_gradients(const std::vector<Tensor>& params);
    double mean(double value) const;  // over the ranks
    double max(double value) const;
    bool any(bool value) const;

private:
    DataParallelOptions opt_;
    std::optional<FlatBuckets> gradients_;
};

// Rank `rank` of `ranks`' share of another source's batches: batch(step, B) is rows
// [rank·B/ranks, (rank+1)·B/ranks) of data.batch(step, B). Keeps a reference to `data`.
class RankShare : public DataSource {
public:
    RankShare(const DataSource& data, int rank, int ranks);
    std::int64_t batches_per_epoch(std::int64_t batch_size) const override {
        return data_.batches_per_epoch(batch_size);
    }
    Batch batch(std::int64_t step, std::int64_t batch_size) const override;
    std::int64_t tokens_per_row() const override { return data_.tokens_per_row(); }

private:
    const DataSource& data_;
    int rank_, ranks_;
};

}  // namespace tapegrad
