// A training step's forward and backward over `shards` equal parts of its batch, one part per
// thread of one OpenMP team, every op inside a part on that part's thread alone. On a small model
// this beats splitting each op across the threads: a toy GPT step has ~50 ops too small to split
// well, each paying a fork and a join, where a sharded step pays one of each (bench/run.sh:
// toy 3.7 -> 2.5 ms/step on 2 cores). Large models keep one shard: their ops split well.
//   optimizer.zero_grad();
//   const Tensor loss = sharded_backward(model, [&](const Batch& b) { return model.loss(b.x, b.y);
//   },
//                                        batch, 2);
//   optimizer.step();
// The step is the same math as loss(batch).backward() for a loss that is a mean over the rows:
// the loss returned is the mean of the parts' losses, and every parameter's .grad() gains the sum
// over the parts, in part order, of the gradient of (part's loss / shards). The sums differ from
// the whole batch's only in rounding, and the result does not depend on the number of threads
// (with one, the parts run one after another; the tests compare them bit for bit).
// Dropout: part 0 draws from the model's generators, part s > 0 from Generator::derived(s) of their
// state before the step, as MPI rank s does (train/distributed.hpp); the same for the global
// generator, should the loss draw from it.
// The loss function runs on several threads at once: it may read the model but not change it
// (Gpt's keep_* and record_next_forward refuse to run in a part), and a parameter reached by no
// part keeps its .grad() as backward() would.
#pragma once

#include "core/tensor.hpp"
#include "layers/module.hpp"
#include "train/data.hpp"

namespace tapegrad {

// The loss of the whole batch (a scalar, detached); one shard is loss(batch).backward() as it
// stands, on this thread. ValueError when `shards` < 1, when it does
// not divide the batch's rows, or when a part's loss is not a scalar. A part that throws stops
// the step with its error after every part has ended, the parameters' .grad() untouched.
Tensor sharded_backward(Module& model, const BatchLoss& loss, const Batch& batch, int shards);

}  // namespace tapegrad
