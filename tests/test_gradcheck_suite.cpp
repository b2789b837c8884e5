// The gradcheck suite (every op and layer), sampled gradchecks, the whole-model gradcheck and the
// `tapegrad gradcheck` command.
#include <doctest/doctest.h>

#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "autograd/ops.hpp"
#include "autograd/tape.hpp"
#include "check/gradcheck_module.hpp"
#include "check/gradcheck_suite.hpp"
#include "check/gradcheck_table.hpp"
#include "cli_runner.hpp"
#include "io/pretrained.hpp"
#include "layers/gpt.hpp"
#include "support.hpp"

using namespace tapegrad;
using test::check_throws_with;

namespace {

bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// The identifiers declared by lines of the headers in `dir` (relative to the source tree) that
// start with `prefix` and continue with an identifier and `follow` ("Tensor relu(", not
// "Tensor operator-("), listed under the header's stem.
std::map<std::string, std::vector<std::string>> declared(const std::string& dir,
                                                         const std::string& prefix,
                                                         const std::string& follow) {
    std::map<std::string, std::vector<std::string>> out;
    for (const auto& entry : std::filesystem::directory_iterator(test::source_dir() / dir)) {
        if (entry.path().extension() != ".hpp") continue;
        std::ifstream in(entry.path());
        for (std::string line; std::getline(in, line);) {
            if (line.rfind(prefix, 0) != 0) continue;
            std::size_t end = prefix.size();
            while (end < line.size() && is_word_char(line[end])) ++end;
            if (end > prefix.size() && line.compare(end, follow.size(), follow) == 0)
                out[entry.path().stem().string()].push_back(
                    line.substr(prefix.size(), end - prefix.size()));
        }
    }
    return out;
}

// Whether `text` contains `word` not as part of a longer identifier.
bool contains_word(const std::string& text, const std::string& word) {
    for (std::size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
        const std::size_t after = at + word.size();
        if ((at == 0 || !is_word_char(text[at - 1])) &&
            (after == text.size() || !is_word_char(text[after])))
            return true;
    }
    return false;
}

// A case named "<family>/..." whose variant names `op` (any variant when op is empty).
bool has_case(const std::vector<GradcheckCase>& suite, const std::string& family,
              const std::string& op) {
    for (const GradcheckCase& c : suite)
        if (c.name.rfind(family + "/", 0) == 0 &&
            (op.empty() || contains_word(c.name.substr(family.size() + 1), op)))
            return true;
    return false;
}

// The whitespace-separated words of the line of `text` that starts with `start`.
std::vector<std::string> line_words(const std::string& text, const std::string& start) {
    const std::size_t at = text.find("\n" + start);
    if (at == std::string::npos) return {""};
    std::istringstream line(text.substr(at + 1, text.find('\n', at + 1) - at - 1));
    std::vector<std::string> words;
    for (std::string w; line >> w;) words.push_back(w);
    return words;
}

// x² whose backward is off by a factor: x instead of 2x.
Tensor wrong_square(const Tensor& x) {
    const Tensor y = (x * x).detach();
    return record("wrong_square", {x}, y, {},
                  [](Backward& bw) { bw.accumulate(0, bw.grad_out() * bw.input(0)); });
}

struct TwoParameters : Module {
    Tensor good, bad;
    TwoParameters() : Module("TwoParameters") {
        good = register_parameter("good", uniform({3}, 0.5, 1.5, {.dtype = f64, .seed = 1}));
        bad = register_parameter("bad", uniform({2, 4}, 0.5, 1.5, {.dtype = f64, .seed = 2}));
    }
    Tensor loss() { return sum(good * good) + sum(wrong_square(bad)); }
};

// A tiny GPT with weights large enough for every path to matter, saved under a scratch dir.
std::filesystem::path saved_tiny_gpt(const Gpt& model) {
    const std::filesystem::path dir = test::scratch_dir("gradcheck_gpt") / "model";
    save_pretrained(dir, model, nullptr);
    return dir;
}

const GptConfig tiny_gpt{
    .vocab_size = 7, .n_positions = 4, .n_embd = 4, .n_layer = 1, .n_head = 2, .seed = 2};

// Runs the tapegrad program with `args` (one string, split by the shell).
test::CliResult run_cli(const std::string& args) {
    return test::run_command(test::cli_command({}) + " " + args);
}

}  // namespace

TEST_CASE("gradcheck suite: every op and layer passes in float64") {
    const std::vector<GradcheckCase> suite = gradcheck_suite();
    CHECK(suite.size() > 150);
    for (const GradcheckCase& c : suite) {
        const GradcheckReport r = c.run();
        CHECK_MESSAGE(r.ok, c.name, " ", c.shapes, ": ", r.message());
    }
}

TEST_CASE("gradcheck suite: a case for every op of every ops header and for every layer class") {
    const std::vector<GradcheckCase> suite = gradcheck_suite();
    std::set<std::string> seen;
    for (const GradcheckCase& c : suite)
        CHECK_MESSAGE(seen.insert(c.name + " " + c.shapes).second, c.name);
    std::size_t ops = 0;
    for (const char* prefix : {"Tensor ", "std::vector<Tensor> "}) {
        for (const auto& [family, names] : declared("autograd/ops", prefix, "(")) {
            for (const std::string& op : names) {
                ++ops;
                CHECK_MESSAGE(has_case(suite, family, op), "no case \"", family, "/... ", op, "\"");
            }
        }
    }
    CHECK(ops >= 35);
    // layer classes; not the bases layers derive from, nor ModuleList, which holds blocks but
    // computes nothing
    const std::set<std::string> bases{"Layer", "AttentionBase", "TransformerBlockBase",
                                      "PositionTableLayer", "ModuleList"};
    std::size_t layers = 0;
    for (const auto& [header, classes] : declared("layers", "class ", " : public ")) {
        for (const std::string& name : classes) {
            if (bases.count(name)) continue;
            ++layers;
            CHECK_MESSAGE(has_case(suite, name, ""), "no case \"", name, "/...\" (", header,
                          ".hpp)");
        }
    }
    CHECK(layers >= 20);
}

TEST_CASE("gradcheck: max_elements checks a seeded sample of exactly N distinct elements") {
    const Tensor x = uniform({10, 10}, -1, 1, {.dtype = f64, .seed = 3, .requires_grad = true});
    const Tensor y = uniform({3}, -1, 1, {.dtype = f64, .seed = 4, .requires_grad = true});
    const std::vector<double> original = x.to_vector();
    std::set<std::size_t> perturbed;  // the elements of x that some evaluation saw moved
    const GradcheckFn f = [&](const std::vector<Tensor>& v) {
        const std::vector<double> now = v[0].to_vector();
        for (std::size_t i = 0; i < now.size(); ++i)
            if (now[i] != original[i]) perturbed.insert(i);
        return sum(v[0] * v[0]) + sum(exp(v[1]));
    };
    const auto sample = [&](std::size_t n, std::uint64_t seed) {
        perturbed.clear();
        const GradcheckReport r = gradcheck(f, {x, y}, {.seed = seed, .max_elements = n});
        CHECK(r.ok);
        CHECK(r.checked == std::min<std::size_t>(n ? n : 100, 100) + 3);  // y has only 3
        return perturbed;
    };
    const std::set<std::size_t> seven = sample(7, 1);
    CHECK(seven.size() == 7);
    CHECK(*seven.rbegin() < 100);
    CHECK(sample(7, 1) == seven);  // the same seed draws the same elements
    CHECK(sample(7, 2) != seven);
    CHECK(sample(0, 1).size() == 100);  // 0 = every element
    CHECK(sample(500, 1).size() == 100);
}

TEST_CASE("gradcheck_parameters: a deliberately wrong backward fails in its own tensor's row") {
    TwoParameters model;
    const std::vector<ParameterCheck> rows =
        gradcheck_parameters(model, [&] { return model.loss(); }, {.max_elements = 5});
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].name == "good");
    CHECK(rows[0].shape == Shape{3});
    CHECK(rows[0].checked == 3);
    CHECK(rows[0].ok);
    CHECK(rows[0].max_abs_error < 1e-6);
    CHECK(rows[1].name == "bad");
    CHECK(rows[1].shape == Shape{2, 4});
    CHECK(rows[1].checked == 5);
    CHECK_FALSE(rows[1].ok);
    CHECK(rows[1].max_rel_error == doctest::Approx(0.5).epsilon(1e-4));  // x·v against 2x·v
    for (const Tensor& p : model.parameters()) CHECK_FALSE(p.grad().defined());

    const std::string table = format_parameter_table(rows);
    CHECK_MESSAGE(table.find("parameter  shape  checked  max abs err  max rel err  result") == 0,
                  table);
    CHECK_MESSAGE(table.find("\nbad        [2,4]        5") != std::string::npos, table);
    CHECK_MESSAGE(table.find("FAILED\n1 of 2 checks passed\n") != std::string::npos, table);

    model.to(f32);
    check_throws_with<ValueError>(
        [&] { gradcheck_parameters(model, [&] { return model.loss(); }, {}); },
        {"gradcheck_parameters: parameter 'good' [3] is f32", "to(f64)"});
}

TEST_CASE("gradcheck_gpt: a tiny saved model passes for every parameter tensor, by GPT-2 name") {
    Gpt model(tiny_gpt);
    randomize_parameters(model, 0.6, 10);
    const std::filesystem::path dir = saved_tiny_gpt(model);
    const std::vector<ParameterCheck> rows = gradcheck_gpt(dir, 2, 4, 6, 0);
    const auto params = model.named_parameters();
    REQUIRE(rows.size() == params.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        INFO(rows[i].name, " ", rows[i].max_abs_error, " ", rows[i].max_rel_error);
        CHECK(rows[i].name == params[i].first);
        CHECK(rows[i].shape == params[i].second.shape());
        CHECK(rows[i].checked == std::min<std::size_t>(6, params[i].second.numel()));
        CHECK(rows[i].ok);
    }
    CHECK(rows.front().name == "wte.weight");
    CHECK(rows[4].name == "h.0.attn.c_attn.weight");
    check_throws_with<ValueError>(
        [&] { gradcheck_gpt(dir, 2, 5, 6, 0); },
        {"gradcheck_gpt", "seq_len 5 exceeds the model's n_positions (4)"});
}

TEST_CASE(
    "tapegrad gradcheck: the suite's table, a model's table, and exit status 1 on a failure") {
    std::size_t unary = 0;
    for (const GradcheckCase& c : gradcheck_suite()) unary += c.name.rfind("unary/", 0) == 0;
    test::CliResult r = run_cli("gradcheck --filter unary/");
    CHECK_MESSAGE(r.status == 0, r.output);
    CHECK_MESSAGE(r.output.find("op ") == 0, r.output);
    CHECK_MESSAGE(r.output.find("\nunary/exp ") != std::string::npos, r.output);
    CHECK_MESSAGE(
        r.output.find(fmt::format("\n{0} of {0} checks passed\n", unary)) != std::string::npos,
        r.output);

    r = run_cli("gradcheck --filter Gpt/ --atol 0 --rtol 0");  // roundoff alone now fails
    CHECK_MESSAGE(r.status == 1, r.output);
    CHECK_MESSAGE(r.output.find("FAILED\n0 of 1 checks passed\n") != std::string::npos, r.output);

    r = run_cli("gradcheck --filter no-such-op");
    CHECK_MESSAGE(r.status == 1, r.output);
    CHECK_MESSAGE(r.output.find("error: --filter: no check's name contains 'no-such-op'") !=
                      std::string::npos,
                  r.output);

    Gpt model(tiny_gpt);
    randomize_parameters(model, 0.6, 10);
    const std::filesystem::path dir = saved_tiny_gpt(model);
    r = run_cli(
        fmt::format("gradcheck --model {} --batch 2 --seq-len 3 --elements 4", dir.string()));
    CHECK_MESSAGE(r.status == 0, r.output);
    const std::size_t n = model.named_parameters().size();
    const std::vector<std::string> row = line_words(r.output, "h.0.mlp.c_proj.weight ");
    CHECK_MESSAGE(row.size() == 6, r.output);
    CHECK_MESSAGE(row[1] == "[16,4]", r.output);  // shape, then elements checked
    CHECK_MESSAGE(row[2] == "4", r.output);
    CHECK_MESSAGE(row.back() == "ok", r.output);
    CHECK_MESSAGE(
        r.output.find(fmt::format("\n{0} of {0} checks passed\n", n)) != std::string::npos,
        r.output);
    CHECK(run_cli(fmt::format("gradcheck --model {} --filter unary", dir.string())).status != 0);
    // with no tolerance roundoff fails every check, and --locate names a node
    r =
        run_cli(fmt::format("gradcheck --model {} --batch 2 --seq-len 3 --elements 2 --atol 0 "
                            "--rtol 0 --locate",
                            dir.string()));
    CHECK_MESSAGE(r.status == 1, r.output);
    CHECK_MESSAGE(r.output.find("\nfirst wrong node: #") != std::string::npos, r.output);
}

TEST_CASE("tapegrad gradcheck --order 2 and --fast") {
    test::CliResult r = run_cli("gradcheck --order 2 --filter unary/tanh");
    CHECK_MESSAGE(r.status == 0, r.output);
    CHECK_MESSAGE(r.output.find("1 of 1 checks passed") != std::string::npos, r.output);
    r = run_cli("gradcheck --order 2 --filter binary/add");
    CHECK_MESSAGE(r.status == 0, r.output);
    CHECK_MESSAGE(r.output.find("note: input 0: every second derivative is 0") != std::string::npos,
                  r.output);
    r = run_cli("gradcheck --fast --probes 2 --filter Gpt/");
    CHECK_MESSAGE(r.status == 0, r.output);
    CHECK_MESSAGE(r.output.find("1 of 1 checks passed") != std::string::npos, r.output);
}
