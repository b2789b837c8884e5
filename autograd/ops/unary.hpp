// Elementwise ops of one tensor. Each is differentiable; see unary.cpp for both passes.
#pragma once

#include "core/tensor.hpp"

namespace tapegrad {

Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor gelu(const Tensor& x);  // tanh approximation, as GPT-2 and Keras' approximate=True
Tensor pow(const Tensor& x, double p);
Tensor add_scalar(const Tensor& x, double c);
Tensor mul_scalar(const Tensor& x, double c);

Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& x, double c);
Tensor operator+(double c, const Tensor& x);
Tensor operator-(const Tensor& x, double c);
Tensor operator-(double c, const Tensor& x);
Tensor operator*(const Tensor& x, double c);
Tensor operator*(double c, const Tensor& x);
Tensor operator/(const Tensor& x, double c);

}  // namespace tapegrad
