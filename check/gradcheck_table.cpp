#include "check/gradcheck_table.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace tapegrad {
namespace {

constexpr std::size_t number_width = 11;  // "max abs err", and "1.23e-09" fits

std::string error_cell(double e) { return fmt::format("{:.2e}", e); }
const char* result_cell(bool ok) { return ok ? "ok" : "FAILED"; }

// The widest of `title` and every text in `texts`.
template <class Range, class Text>
std::size_t width_of(const std::string& title, const Range& rows, Text text) {
    std::size_t w = title.size();
    for (const auto& r : rows) w = std::max(w, text(r).size());
    return w;
}

}  // namespace

GradcheckTable GradcheckTable::for_suite(const std::vector<GradcheckCase>& cases) {
    return GradcheckTable({
        {"op", width_of("op", cases, [](const GradcheckCase& c) { return c.name; }), false},
        {"shapes", width_of("shapes", cases, [](const GradcheckCase& c) { return c.shapes; }),
         false},
        {"max abs err", number_width, true},
        {"max rel err", number_width, true},
        {"result", 6, false},
    });
}

GradcheckTable GradcheckTable::for_parameters(const std::vector<ParameterCheck>& checks) {
    const auto shape_text = [](const ParameterCheck& c) { return fmt::format("{}", c.shape); };
    return GradcheckTable({
        {"parameter", width_of("parameter", checks, [](const ParameterCheck& c) { return c.name; }),
         false},
        {"shape", width_of("shape", checks, shape_text), false},
        {"checked", 7, true},
        {"max abs err", number_width, true},
        {"max rel err", number_width, true},
        {"result", 6, false},
    });
}

std::string GradcheckTable::line(const std::vector<std::string>& cells) const {
    std::string out;
    for (std::size_t i = 0; i < columns_.size(); ++i) {
        const Column& c = columns_[i];
        if (i > 0) out += "  ";
        out += c.right ? fmt::format("{:>{}}", cells[i], c.width)
                       : fmt::format("{:<{}}", cells[i], c.width);
    }
    out.erase(out.find_last_not_of(' ') + 1);
    return out + "\n";
}

std::string GradcheckTable::header() const {
    std::vector<std::string> titles;
    std::size_t total = 0;
    for (const Column& c : columns_) {
        titles.push_back(c.title);
        total += c.width + (total ? 2 : 0);
    }
    return line(titles) + std::string(total, '-') + "\n";
}

std::string GradcheckTable::row(const GradcheckCase& c, const GradcheckReport& report) const {
    std::string out = line({c.name, c.shapes, error_cell(report.max_abs_error),
                            error_cell(report.max_rel_error), result_cell(report.ok)});
    for (const std::string& note : report.notes) out += "    note: " + note + "\n";
    return out;
}

std::string GradcheckTable::row(const ParameterCheck& check) const {
    return line({check.name, fmt::format("{}", check.shape), fmt::format("{}", check.checked),
                 error_cell(check.max_abs_error), error_cell(check.max_rel_error),
                 result_cell(check.ok)});
}

std::string passed_summary(std::size_t passed, std::size_t total) {
    return fmt::format("{} of {} checks passed\n", passed, total);
}

std::string format_gradcheck_table(const std::vector<GradcheckCase>& cases,
                                   const std::vector<GradcheckReport>& reports) {
    const GradcheckTable table = GradcheckTable::for_suite(cases);
    std::string out = table.header();
    std::size_t passed = 0;
    for (std::size_t i = 0; i < cases.size() && i < reports.size(); ++i) {
        out += table.row(cases[i], reports[i]);
        passed += reports[i].ok;
    }
    return out + passed_summary(passed, reports.size());
}

std::string format_parameter_table(const std::vector<ParameterCheck>& checks) {
    const GradcheckTable table = GradcheckTable::for_parameters(checks);
    std::string out = table.header();
    std::size_t passed = 0;
    for (const ParameterCheck& c : checks) {
        out += table.row(c);
        passed += c.ok;
    }
    return out + passed_summary(passed, checks.size());
}

}  // namespace tapegrad
