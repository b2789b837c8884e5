// The exceptions a user can trigger; everything derives from tapegrad::Error.
#pragma once

#include <stdexcept>
#include <string>

namespace tapegrad {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class ShapeError : public Error {  // operands whose shapes do not fit the op
public:
    using Error::Error;
};

class ValueError : public Error {  // arguments out of range, wrong dtype, misuse of the tape
public:
    using Error::Error;
};

class IoError : public Error {  // unreadable, truncated or corrupt files
public:
    using Error::Error;
};

// Anomaly mode (autograd/anomaly.hpp) found a NaN or Inf: names the op, its shapes and the pass.
class AnomalyError : public Error {
public:
    using Error::Error;
};

}  // namespace tapegrad
