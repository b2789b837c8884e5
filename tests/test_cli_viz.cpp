// The picture commands of the `tapegrad` program (attention, plot, mask) run as a user runs them,
// their SVGs parsed as XML; and the mask explanation checked against what the layers do.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "autograd/ops.hpp"
#include "cli_runner.hpp"
#include "io/pretrained.hpp"
#include "layers/attention.hpp"
#include "layers/masks.hpp"
#include "layers/multi_head_attention.hpp"
#include "support.hpp"
#include "viz/heatmap.hpp"

using namespace tapegrad;
namespace fs = std::filesystem;
using test::check_throws_with;
using test::fails_naming;
using test::run_cli;
using test::succeeded;

namespace {

// One element of an SVG: its tag, attributes and the text directly inside it.
struct XmlElement {
    std::string tag;
    std::map<std::string, std::string> attributes;
    std::string text;
    std::string attribute(const std::string& name) const {
        const auto it = attributes.find(name);
        return it == attributes.end() ? "" : it->second;
    }
};

// A strict reader for what our SVG writer emits: tags split at '<' and '>', each matched whole
// against a tag pattern; closing tags must match the open ones, text and attribute values may hold
// '&' only as one of XML's five entities (kept as written). Elements come in document order.
std::vector<XmlElement> parse_svg(const std::string& s) {
    static const std::regex open_tag(R"re(<([a-zA-Z][\w-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(/?)>)re");
    static const std::regex close_tag(R"re(</([a-zA-Z][\w-]*)\s*>)re");
    static const std::regex attribute(R"re(([\w:-]+)="([^"]*)")re");
    static const std::regex bad_amp(R"re(&(?!(amp|lt|gt|quot|apos);))re");
    std::vector<XmlElement> elements;
    std::vector<std::size_t> open;
    std::size_t i = s.rfind("<?xml", 0) == 0 ? s.find("?>") + 2 : 0, roots = 0;
    for (std::size_t lt; (lt = s.find('<', i)) != std::string::npos;) {
        const std::string text = s.substr(i, lt - i);
        REQUIRE_MESSAGE(!std::regex_search(text, bad_amp), "bad text: ", text);
        if (!open.empty()) elements[open.back()].text += text;
        const std::size_t gt = s.find('>', lt);
        REQUIRE(gt != std::string::npos);
        const std::string tag = s.substr(lt, gt - lt + 1);
        std::smatch m;
        if (std::regex_match(tag, m, close_tag)) {
            REQUIRE_MESSAGE((!open.empty() && elements[open.back()].tag == m[1]), "unbalanced ",
                            tag);
            open.pop_back();
        } else {
            REQUIRE_MESSAGE(std::regex_match(tag, m, open_tag), "malformed tag ", tag);
            REQUIRE_MESSAGE(!std::regex_search(tag, bad_amp), "bad attribute in ", tag);
            XmlElement e{.tag = m[1].str()};
            const std::string attrs = m[2];
            for (std::sregex_iterator a(attrs.begin(), attrs.end(), attribute), end; a != end; ++a)
                e.attributes[(*a)[1].str()] = (*a)[2].str();
            roots += open.empty();
            if (m[3] != "/") open.push_back(elements.size());
            elements.push_back(std::move(e));
        }
        i = gt + 1;
    }
    CHECK(open.empty());
    CHECK(roots == 1);
    return elements;
}

std::vector<XmlElement> parse_svg_file(const fs::path& path) {
    std::ifstream in(path);
    REQUIRE_MESSAGE(in, "missing ", path);
    return parse_svg(std::string(std::istreambuf_iterator<char>(in), {}));
}

std::vector<const XmlElement*> with_class(const std::vector<XmlElement>& all,
                                          const std::string& css) {
    std::vector<const XmlElement*> out;
    for (const XmlElement& e : all)
        if (e.attribute("class") == css) out.push_back(&e);
    return out;
}

std::vector<std::string> texts(const std::vector<const XmlElement*>& elements) {
    std::vector<std::string> out;
    for (const XmlElement* e : elements) out.push_back(e->text);
    return out;
}

// A 2-layer, 2-head character GPT saved as `tapegrad train` would save it.
fs::path save_tiny_model(const fs::path& dir) {
    const CharTokenizer tokenizer = CharTokenizer::from_text("hello world\nfrom tapegrad");
    Gpt model({.vocab_size = tokenizer.size(),
               .n_positions = 16,
               .n_embd = 16,
               .n_layer = 2,
               .n_head = 2,
               .seed = 4});
    const TextTokenizer text(tokenizer);
    save_pretrained(dir / "model", model, &text);
    return dir / "model";
}

}  // namespace

TEST_CASE("cli attention: one cell per layer, head, query and key, labelled with the tokens") {
    const fs::path dir = test::scratch_dir("cli_attention");
    const fs::path model = save_tiny_model(dir);
    const test::CliResult r = run_cli({"attention", "--model", model.string(), "--prompt",
                                       "he lo\nw", "--out", (dir / "pics/a.svg").string()});
    succeeded(r);
    CHECK(r.output.find("2 layer(s) × 2 head(s), 7 tokens") != std::string::npos);
    const std::vector<XmlElement> svg = parse_svg_file(dir / "pics/a.svg");
    CHECK(with_class(svg, "cell").size() == 2 * 2 * 7 * 7);
    const std::vector<std::string> tokens{"h", "e", "␣", "l", "o", "↵", "w"};
    const std::vector<std::string> queries = texts(with_class(svg, "query-label"));
    const std::vector<std::string> keys = texts(with_class(svg, "key-label"));
    REQUIRE(queries.size() == 4 * 7);  // every panel labels its rows and columns
    REQUIRE(keys.size() == 4 * 7);
    CHECK(std::vector<std::string>(queries.begin(), queries.begin() + 7) == tokens);
    CHECK(std::vector<std::string>(keys.end() - 7, keys.end()) == tokens);
    // the tooltip of query 1 → key 2 in the first panel names both tokens
    CHECK(svg[0].tag == "svg");
    bool tooltip = false;
    for (const XmlElement& e : svg)
        tooltip = tooltip || e.text.rfind("query 1 &apos;e&apos; → key 2 &apos;␣&apos;: 0", 0) == 0;
    CHECK(tooltip);

    succeeded(run_cli({"attention", "--model", model.string(), "--prompt", "world", "--out",
                       (dir / "one.svg").string(), "--layer", "1", "--head", "0"}));
    const std::vector<XmlElement> one = parse_svg_file(dir / "one.svg");
    CHECK(with_class(one, "cell").size() == 5 * 5);
    bool caption = false;
    for (const XmlElement& e : one) caption = caption || e.text == "layer 1 · head 0";
    CHECK(caption);
}

TEST_CASE("cli attention: bad arguments exit nonzero with a message") {
    const std::string help = succeeded(run_cli({"--help"}));
    for (const char* command : {"attention", "plot", "mask"})
        CHECK_MESSAGE(help.find(command) != std::string::npos, command);
    const fs::path dir = test::scratch_dir("cli_attention_errors");
    const fs::path model = save_tiny_model(dir);
    const std::string out = (dir / "x.svg").string();
    fails_naming(run_cli({"attention", "--model", model.string(), "--prompt", "hello", "--out", out,
                          "--layer", "2"}),
                 {"--layer 2", "2 layers (0..1)"});
    fails_naming(run_cli({"attention", "--model", model.string(), "--prompt", "hello", "--out", out,
                          "--head", "-2"}),
                 {"--head"});
    fails_naming(
        run_cli({"attention", "--model", model.string(), "--prompt", "hello?", "--out", out}),
        {"?"});
    fails_naming(run_cli({"attention", "--model", model.string(), "--prompt", std::string(17, 'h'),
                          "--out", out}),
                 {"--prompt: 17 tokens, the model reads 1 to 16"});
    fails_naming(run_cli({"attention", "--model", model.string(), "--prompt", "", "--out", out}),
                 {"--prompt: 0 tokens"});
    fails_naming(run_cli({"attention", "--model", model.string(), "--prompt", "hello"}), {"--out"});
    fails_naming(
        run_cli({"attention", "--model", (dir / "none").string(), "--prompt", "h", "--out", out}),
        {"none"});
    CHECK_FALSE(fs::exists(out));
}

TEST_CASE("cli plot: two metrics files on one chart, named by --label") {
    const fs::path dir = test::scratch_dir("cli_plot_runs");
    for (const char* name : {"a", "b"}) {
        std::ofstream m(dir / fmt::format("{}.jsonl", name));
        for (int step = 0; step < 4; ++step)
            m << fmt::format(R"({{"step":{},"loss":{},"val_loss":{}}})", step, 3.0 - step,
                             3.2 - step)
              << "\n";
    }
    const std::string a = (dir / "a.jsonl").string(), b = (dir / "b.jsonl").string();
    const test::CliResult r = run_cli(
        {"plot", a, b, "--label", "fp32", "--label", "bf16", "--out", (dir / "runs.svg").string()});
    succeeded(r);
    CHECK(r.output.find("8 rows, 8 with a validation loss, 2 runs") != std::string::npos);
    const std::vector<XmlElement> svg = parse_svg_file(dir / "runs.svg");
    CHECK(with_class(svg, "train-loss").size() == 2);
    CHECK(with_class(svg, "val-loss").size() == 2);
    fails_naming(run_cli({"plot", a, b, "--label", "fp32", "--out", (dir / "x.svg").string()}),
                 {"2 metrics files but 1 --label"});
}

TEST_CASE("cli plot: one polyline point per metrics row, validation points where logged") {
    const fs::path dir = test::scratch_dir("cli_plot");
    {
        std::ofstream m(dir / "m.jsonl");
        for (int step = 1; step <= 6; ++step)
            m << fmt::format(R"({{"step":{},"loss":{}{}}})", step, 3.0 / step,
                             step % 3 == 0 ? fmt::format(R"(,"val_loss":{})", 3.5 / step) : "")
              << "\n";
    }
    const test::CliResult r =
        run_cli({"plot", (dir / "m.jsonl").string(), "--out", (dir / "loss.svg").string(),
                 "--log-step", "--title", "run <1>"});
    succeeded(r);
    CHECK(r.output.find("6 rows, 2 with a validation loss") != std::string::npos);
    const std::vector<XmlElement> svg = parse_svg_file(dir / "loss.svg");
    const auto points = [&](const char* css) {
        const auto found = with_class(svg, css);
        REQUIRE(found.size() == 1);
        std::istringstream in(found[0]->attribute("points"));
        std::size_t n = 0;
        for (std::string pair; in >> pair;) n += pair.find(',') != std::string::npos;
        return n;
    };
    CHECK(points("train-loss") == 6);
    CHECK(points("val-loss") == 2);
    CHECK(texts(with_class(svg, "title")) == std::vector<std::string>{"run &lt;1&gt;"});

    // as `tapegrad train` logs them, from step 0: a log axis shows steps done
    std::ofstream(dir / "zero.jsonl") << R"({"step":0,"loss":1})"
                                      << "\n"
                                      << R"({"step":9,"loss":0.5})"
                                      << "\n";
    succeeded(run_cli(
        {"plot", (dir / "zero.jsonl").string(), "--out", (dir / "z.svg").string(), "--log-step"}));
    const std::vector<XmlElement> zero = parse_svg_file(dir / "z.svg");
    CHECK(texts(with_class(zero, "axis-label")).front() == "steps done (step + 1), log scale");
    CHECK(texts(with_class(zero, "tick-label")).front() == "1");
    std::ofstream(dir / "negative.jsonl") << R"({"step":-1,"loss":1})"
                                          << "\n";
    fails_naming(run_cli({"plot", (dir / "negative.jsonl").string(), "--out",
                          (dir / "n.svg").string(), "--log-step"}),
                 {"logarithmic"});
    std::ofstream(dir / "bad.jsonl") << R"({"step":1})"
                                     << "\n";
    fails_naming(run_cli({"plot", (dir / "bad.jsonl").string(), "--out", (dir / "b.svg").string()}),
                 {"bad.jsonl: line 1", "loss"});
    fails_naming(
        run_cli({"plot", (dir / "missing.jsonl").string(), "--out", (dir / "b.svg").string()}),
        {"missing.jsonl"});
}

TEST_CASE("cli mask: causal and padding combined, as a grid with its legend and row notes") {
    const fs::path dir = test::scratch_dir("cli_mask");
    const test::CliResult r = run_cli({"mask", "--length", "4", "--causal", "--padding", "1 1 1 0",
                                       "--svg", (dir / "mask.svg").string()});
    succeeded(r);
    const std::string grid =
        "combined mask, 4 queries × 4 keys:\n"
        "■ · · ·\n"
        "■ ■ · ·\n"
        "■ ■ ■ ·\n"
        "· · · ·\n";
    CHECK(r.output.rfind(grid, 0) == 0);
    for (const char* part :
         {"■ = 1 = true: may attend;", "nn.MultiheadAttention",
          "shown: query padding ∧ key padding ∧ causal",
          "MultiHeadAttention, transformer blocks: query 3\n"
          "    -> weights 0, output = attention_output.bias\n",
          "Attention, AdditiveAttention (their softmax leaves the query mask out): "
          "none\n    -> padding query 3: output 0\n"})
        CHECK_MESSAGE(r.output.find(part) != std::string::npos, part);
    CHECK(with_class(parse_svg_file(dir / "mask.svg"), "cell").size() == 16);

    std::ofstream(dir / "custom.txt") << "1 1 0\n0 1 1\n0 0 1\n";
    for (const std::string& custom :
         {std::string("110/011/001"), (dir / "custom.txt").string(), std::string("■■·;·■■;··■")}) {
        const test::CliResult c = run_cli({"mask", "--length", "3", "--custom", custom});
        succeeded(c);
        CHECK(c.output.find("■ ■ ·\n· ■ ■\n· · ■\n") != std::string::npos);
    }
}

TEST_CASE("cli mask: bad arguments exit nonzero with a message") {
    fails_naming(run_cli({"mask", "--length", "4", "--padding", "1 1"}),
                 {"--padding: 2 entries for --length 4"});
    fails_naming(run_cli({"mask", "--length", "2", "--padding", "1 2"}), {"'2' is not 0 or 1"});
    fails_naming(run_cli({"mask", "--length", "2", "--custom", "1z/11"}), {"'z' in row 0"});
    fails_naming(run_cli({"mask", "--length", "2", "--custom", "11/1"}),
                 {"row 1 has 1 cells, --length is 2"});
    fails_naming(run_cli({"mask", "--length", "3", "--custom", "111/111"}),
                 {"--custom: 2 rows, --length is 3"});
    fails_naming(run_cli({"mask", "--length", "0"}), {"--length"});
    fails_naming(run_cli({"mask"}), {"--length"});
}

TEST_CASE("masks: combine_masks ANDs the parts, with or without the query mask") {
    const Tensor pad = mask(std::vector<std::uint8_t>{1, 0, 1}, {3});
    const MaskParts parts{
        .tq = 3,
        .tv = 3,
        .query_mask = pad,
        .value_mask = pad,
        .attention_mask = mask(std::vector<std::uint8_t>{1, 1, 1, 1, 1, 1, 0, 1, 1}, {3, 3}),
        .causal = true};
    CHECK(mask_text(combine_masks(parts)) == "■ · ·\n· · ·\n· · ■\n");
    CHECK(mask_text(combine_masks(parts, false)) == "■ · ·\n■ · ·\n· · ■\n");
    CHECK(mask_text(combine_masks({.tq = 2, .tv = 3})) == "■ ■ ■\n■ ■ ■\n");
    CHECK(mask_text(invert_mask(combine_masks(parts))) == "· ■ ■\n■ ■ ■\n■ ■ ·\n");
    check_throws_with<ShapeError>(
        [&] {
            combine_masks({.tq = 2, .tv = 3, .value_mask = pad.view_as_shape({1, 3})});
        },
        {"combine_masks", "value_mask [1,3]", "shape differs from [Tv] ([1,3] vs [3])"});
    check_throws_with<ValueError>(
        [&] { combine_masks({.tq = 3, .tv = 3, .query_mask = ones({3})}); },
        {"combine_masks", "query_mask", "b8"});
    check_throws_with<ValueError>([] { combine_masks({.tq = 0, .tv = 3}); },
                                  {"lengths must be positive"});
}

// What explain_mask says about a row with no key left, checked against the layers themselves.
TEST_CASE(
    "masks: a row without keys gets zero weights in MultiHeadAttention, uniform ones in "
    "Attention") {
    const Tensor x = uniform({1, 3, 4}, -1, 1, {.dtype = f64, .seed = 1});
    const Tensor keys = mask(std::vector<std::uint8_t>{1, 1, 0}, {1, 3});
    const Tensor none_for_row_1 =
        mask(std::vector<std::uint8_t>{1, 1, 1, 0, 0, 1, 1, 1, 1}, {3, 3});
    const MaskParts parts{.tq = 3,
                          .tv = 3,
                          .value_mask = keys.view_as_shape({3}),
                          .attention_mask = none_for_row_1,
                          .causal = true};
    const std::string text = explain_mask(parts);  // row 1 keeps key 0 or 1 only causally, both cut
    CHECK(text.find("MultiHeadAttention, transformer blocks: query 1\n    -> weights 0, output = "
                    "attention_output.bias") != std::string::npos);
    CHECK(text.find("AdditiveAttention (their softmax leaves the query mask out): query 1\n    -> "
                    "uniform weights 1/3 over all keys") != std::string::npos);
    const AttentionCall call{.value_mask = keys,
                             .attention_mask = none_for_row_1,
                             .use_causal_mask = true,
                             .return_attention_scores = true};

    MultiHeadAttention mha(4, {.num_heads = 2, .key_dim = 2, .seed = 2});
    mha.to(f64);
    Tensor bias = mha.state_dict().at("attention_output.bias");
    std::fill(bias.span<double>().begin(), bias.span<double>().end(), 0.25);
    const AttentionResult m = mha(x, x, x, call);
    for (std::int64_t h = 0; h < 2; ++h)
        for (std::int64_t j = 0; j < 3; ++j) CHECK(m.scores.at({0, h, 1, j}) == 0.0);
    for (std::int64_t d = 0; d < 4; ++d)
        CHECK(m.output.at({0, 1, d}) == doctest::Approx(0.25).epsilon(1e-12));

    Attention attention;
    const AttentionResult a = attention(x, x, Tensor(), call);
    for (std::int64_t j = 0; j < 3; ++j)
        CHECK(a.scores.at({0, 1, j}) == doctest::Approx(1.0 / 3).epsilon(1e-12));
    for (std::int64_t d = 0; d < 4; ++d) {
        const double mean = (x.at({0, 0, d}) + x.at({0, 1, d}) + x.at({0, 2, d})) / 3;
        CHECK(a.output.at({0, 1, d}) == doctest::Approx(mean).epsilon(1e-12));
    }
    // a padding query keeps its softmax in Attention and gets output 0
    const AttentionResult q =
        attention(x, x, Tensor(), {.query_mask = keys, .return_attention_scores = true});
    CHECK(q.scores.at({0, 2, 0}) > 0.0);
    for (std::int64_t d = 0; d < 4; ++d) CHECK(q.output.at({0, 2, d}) == 0.0);
}
