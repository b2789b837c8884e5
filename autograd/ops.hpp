// Every differentiable op, for code that wants them all.
#pragma once

#include "autograd/ops/binary.hpp"
#include "autograd/ops/causal_matmul.hpp"
#include "autograd/ops/dropout.hpp"
#include "autograd/ops/index.hpp"
#include "autograd/ops/loss.hpp"
#include "autograd/ops/matmul.hpp"
#include "autograd/ops/norm.hpp"
#include "autograd/ops/packed_attention.hpp"
#include "autograd/ops/reduce.hpp"
#include "autograd/ops/shape.hpp"
#include "autograd/ops/softmax.hpp"
#include "autograd/ops/unary.hpp"
