// The tables `tapegrad gradcheck` prints: fixed-width columns, text left-aligned and numbers
// right-aligned. The text columns are sized from every row's text before any check runs, so the
// suite's rows can be printed as their checks finish.
//   op                 shapes     max abs err  max rel err  result
//   ----------------------------------------------------------------
//   unary/exp          [3,4]         3.12e-11     2.01e-10  ok
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "check/gradcheck_module.hpp"
#include "check/gradcheck_suite.hpp"

namespace tapegrad {

class GradcheckTable {
public:
    // op | shapes | max abs err | max rel err | result
    static GradcheckTable for_suite(const std::vector<GradcheckCase>& cases);
    // parameter | shape | checked | max abs err | max rel err | result
    static GradcheckTable for_parameters(const std::vector<ParameterCheck>& checks);

    std::string header() const;  // the titles and a rule, two lines
    std::string row(const GradcheckCase& c, const GradcheckReport& report) const;
    std::string row(const ParameterCheck& check) const;

private:
    struct Column {
        std::string title;
        std::size_t width;
        bool right;  // numbers
    };
    explicit GradcheckTable(std::vector<Column> columns) : columns_(std::move(columns)) {}
    std::string line(const std::vector<std::string>& cells) const;

    std::vector<Column> columns_;
};

// "N of M checks passed", the table's last line.
std::string passed_summary(std::size_t passed, std::size_t total);

// Whole tables: header, one row per check, the summary line.
std::string format_gradcheck_table(const std::vector<GradcheckCase>& cases,
                                   const std::vector<GradcheckReport>& reports);
std::string format_parameter_table(const std::vector<ParameterCheck>& checks);

}  // namespace tapegrad
