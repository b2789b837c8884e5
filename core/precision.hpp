// The precision float32 matrix products run in, for the whole process: fp32, or bf16 mixed
// precision (operands rounded to bfloat16, products accumulated and returned in float32, through
// oneDNN). Everything else (weights, gradients, optimizer state, softmax, layer norm, GELU, losses,
// reductions) stays float32, and float64 (gradcheck) never changes; docs/design.md has the table.
//   PrecisionScope bf16(Precision::bf16);  // a hand-written loop's steps, until the scope ends
// bf16 needs the CPU's bf16 instructions (AVX512-BF16 or AMX); without them a bf16 request runs in
// fp32 and prints one notice. TAPEGRAD_BF16=off (or force_bf16_fallback) takes that path on any
// CPU.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tapegrad {

enum class Precision { fp32, bf16 };

std::string_view precision_name(Precision p);                  // "fp32" | "bf16"
std::optional<Precision> parse_precision(std::string_view s);  // nullopt for anything else

// Asks for `requested`; returns what runs (fp32 when bf16 is asked for but unavailable).
Precision set_precision(Precision requested);
Precision precision();  // what runs now

// Sets the precision while alive, then restores the previous one.
class PrecisionScope {
public:
    explicit PrecisionScope(Precision requested);
    Precision active() const { return active_; }  // what runs inside the scope
    ~PrecisionScope();
    PrecisionScope(const PrecisionScope&) = delete;
    PrecisionScope& operator=(const PrecisionScope&) = delete;

private:
    Precision previous_, active_;
};

// Whether bf16 products can run: the CPU has AVX512-BF16 or AMX, and the fallback is not forced.
bool bf16_available();
// Tests and comparisons: act as if the CPU had no bf16 instructions (true) or as it is (false).
void force_bf16_fallback(bool on);

// One line on what runs: CPU matrix ISA (AMX / AVX512-BF16 / none), BLAS and oneDNN versions,
// threads, and the precision of matrix products.
std::string system_summary();

}  // namespace tapegrad
