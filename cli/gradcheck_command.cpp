// tapegrad gradcheck: compare every backward with central differences in float64.
//   tapegrad gradcheck [--filter Attention/]     every op and layer (check/gradcheck_suite.hpp)
//   tapegrad gradcheck --model DIR [--elements 20] a saved GPT, one row per parameter tensor
//   --order 2: the suite's second derivatives (gradgradcheck); --fast: random-direction probes;
//   --locate (with --model): on a failure, the first node whose backward disagrees
// Prints a table and "N of M checks passed"; exit status 1 if any check fails.
#include <fmt/format.h>

#include <cstdio>

#include "check/gradcheck_module.hpp"
#include "check/gradcheck_suite.hpp"
#include "check/gradcheck_table.hpp"
#include "cli/commands.hpp"
#include "core/error.hpp"

namespace tapegrad::cli {
namespace {

struct GradcheckArgs {
    std::string model, filter;
    GradcheckOptions options;
    std::int64_t batch = 2, seq_len = 8;
    std::size_t elements = 20;
    std::uint64_t seed = 0;
    int order = 1;
    bool locate = false;
};

// Runs the suite's cases whose name contains the filter, printing each row as it finishes.
int run_suite(const GradcheckArgs& a) {
    std::vector<GradcheckCase> cases;
    for (GradcheckCase& c : gradcheck_suite(a.options))
        if (c.name.find(a.filter) != std::string::npos) cases.push_back(std::move(c));
    if (cases.empty())
        throw ValueError(fmt::format("--filter: no check's name contains '{}'", a.filter));
    const GradcheckTable table = GradcheckTable::for_suite(cases);
    fmt::print("{}", table.header());
    std::size_t passed = 0;
    for (const GradcheckCase& c : cases) {
        const GradcheckReport report = a.order == 2 ? c.run_order2() : c.run();
        passed += report.ok;
        fmt::print("{}", table.row(c, report));
        std::fflush(stdout);
    }
    fmt::print("{}", passed_summary(passed, cases.size()));
    return passed == cases.size() ? 0 : 1;
}

int run_model(const GradcheckArgs& a) {
    const std::vector<ParameterCheck> checks =
        gradcheck_gpt(a.model, a.batch, a.seq_len, a.elements, a.seed, a.options);
    fmt::print("{}: float64, batch {} x {} random tokens, up to {} elements per tensor\n", a.model,
               a.batch, a.seq_len, a.elements);
    fmt::print("{}", format_parameter_table(checks));
    bool ok = true;
    for (const ParameterCheck& c : checks) ok = ok && c.ok;
    if (!ok && a.locate) {
        const auto found = locate_in_gpt(a.model, a.batch, a.seq_len, a.seed, a.options);
        fmt::print("{}\n", found ? found->message()
                                 : "locate: every node's backward agrees with its forward");
    }
    return ok ? 0 : 1;
}

}  // namespace

Command add_gradcheck_command(CLI::App& parent) {
    auto a = std::make_shared<GradcheckArgs>();
    CLI::App* c = parent.add_subcommand(
        "gradcheck",
        "check every op's and layer's gradients, or a saved model's, against central differences");
    CLI::Option* model = c->add_option("--model", a->model,
                                       "check this saved model's parameters instead of the suite")
                             ->check(CLI::ExistingDirectory);
    c->add_option("--filter", a->filter,
                  "run only the suite's checks whose name contains this text")
        ->excludes(model);
    c->add_option("--eps", a->options.eps, "step of the central differences")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    c->add_option("--atol", a->options.atol, "absolute tolerance")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    c->add_option("--rtol", a->options.rtol, "relative tolerance")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    c->add_option("--order", a->order,
                  "1: first derivatives; 2: second derivatives (gradgradcheck)")
        ->check(CLI::Range(1, 2))
        ->excludes(model)
        ->capture_default_str();
    c->add_flag("--fast", a->options.fast,
                "check random directions (two forward passes each) instead of every element");
    c->add_option("--probes", a->options.probes, "with --fast: directions per check")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    c->add_flag("--locate", a->locate,
                "with --model: when a check fails, name the first node whose backward is wrong")
        ->needs(model);
    c->add_option("--batch", a->batch, "with --model: sequences in the random batch")
        ->needs(model)
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    c->add_option("--seq-len", a->seq_len, "with --model: tokens per sequence")
        ->needs(model)
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    c->add_option("--elements", a->elements, "with --model: elements checked per tensor; 0 = all")
        ->needs(model)
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    c->add_option("--seed", a->seed, "with --model: seed of the batch and of the sampled elements")
        ->needs(model)
        ->capture_default_str();
    return {c, [a] { return a->model.empty() ? run_suite(*a) : run_model(*a); }};
}

}  // namespace tapegrad::cli
