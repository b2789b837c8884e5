#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "autograd/graph_dot.hpp"
#include "autograd/ops.hpp"
#include "io/atomic_file.hpp"
#include "support.hpp"
#include "train/metrics.hpp"
#include "viz/heatmap.hpp"
#include "viz/plot.hpp"
#include "viz/svg.hpp"
#include "viz/ticks.hpp"

using namespace tapegrad;
namespace fs = std::filesystem;

namespace {

// A small XML well-formedness check: tags balance, one root, attribute values quoted, '<' never
// and '&' only as an entity in text and values. Returns "" or the first problem, and counts tags.
struct XmlCheck {
    std::string error;
    std::map<std::string, int> tags;
};

bool valid_entities(std::string_view s) {
    for (std::size_t i = s.find('&'); i != std::string_view::npos; i = s.find('&', i + 1)) {
        const std::size_t end = s.find(';', i);
        if (end == std::string_view::npos) return false;
        const std::string_view name = s.substr(i + 1, end - i - 1);
        if (name != "amp" && name != "lt" && name != "gt" && name != "quot" && name != "apos")
            return false;
    }
    return s.find('<') == std::string_view::npos;
}

// Parses the attributes of a start tag s[i..]; returns the index after '>' or '/>' and whether it
// closed itself.
std::size_t read_attributes(std::string_view s, std::size_t i, bool& self_closing,
                            std::string& error) {
    while (i < s.size()) {
        while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
        if (s.substr(i, 2) == "/>") return self_closing = true, i + 2;
        if (i < s.size() && s[i] == '>') return self_closing = false, i + 1;
        const std::size_t eq = s.find('=', i);
        if (eq == std::string_view::npos || s[eq + 1] != '"')
            return error = "unquoted attribute", s.size();
        const std::size_t close = s.find('"', eq + 2);
        if (close == std::string_view::npos || !valid_entities(s.substr(eq + 2, close - eq - 2)))
            return error = "bad attribute value near " + std::string(s.substr(i, 30)), s.size();
        i = close + 1;
    }
    return error = "unterminated tag", s.size();
}

XmlCheck check_xml(std::string_view s) {
    XmlCheck r;
    std::vector<std::string> open;
    int roots = 0;
    std::size_t i = s.substr(0, 5) == "<?xml" ? s.find("?>") + 2 : 0;
    while (r.error.empty() && i < s.size()) {
        const std::size_t lt = s.find('<', i);
        if (!valid_entities(s.substr(i, std::min(lt, s.size()) - i)))
            r.error = "bad text near " + std::string(s.substr(i, 30));
        if (lt == std::string_view::npos) break;
        const bool closing = s[lt + 1] == '/';
        const std::size_t name_start = lt + (closing ? 2 : 1);
        std::size_t name_end = name_start;
        while (name_end < s.size() &&
               (std::isalnum(static_cast<unsigned char>(s[name_end])) || s[name_end] == '-'))
            ++name_end;
        const std::string name(s.substr(name_start, name_end - name_start));
        if (closing) {
            if (open.empty() || open.back() != name)
                r.error = "mismatched </" + name + ">";
            else
                open.pop_back();
            i = s.find('>', name_end) + 1;
            continue;
        }
        bool self_closing = false;
        i = read_attributes(s, name_end, self_closing, r.error);
        ++r.tags[name];
        if (open.empty()) ++roots;
        if (!self_closing) open.push_back(name);
    }
    if (r.error.empty() && (!open.empty() || roots != 1))
        r.error = "unbalanced tags or not one root";
    return r;
}

XmlCheck require_well_formed(const std::string& svg) {
    XmlCheck r = check_xml(svg);
    INFO(r.error);
    REQUIRE(r.error.empty());
    return r;
}

std::size_t count(std::string_view haystack, std::string_view needle) {
    std::size_t n = 0;
    for (std::size_t i = haystack.find(needle); i != std::string_view::npos;
         i = haystack.find(needle, i + 1))
        ++n;
    return n;
}

// The (x, y) pairs of the polyline whose class is `css_class`.
std::vector<std::pair<double, double>> polyline_points(const std::string& svg,
                                                       std::string_view css_class) {
    const std::size_t at = svg.find(fmt::format("class=\"{}\"", css_class));
    REQUIRE(at != std::string::npos);
    const std::size_t start = svg.rfind("points=\"", at) + 8;
    std::istringstream in(svg.substr(start, svg.find('"', start) - start));
    std::vector<std::pair<double, double>> out;
    double x, y;
    char comma;
    while (in >> x >> comma >> y) out.emplace_back(x, y);
    return out;
}

}  // namespace

TEST_CASE("svg: escaping makes markup, control bytes and invalid UTF-8 safe") {
    CHECK(svg::xml_escape("a<b & \"c\" 'd'>") == "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
    CHECK(svg::xml_escape("line\nnext\x01") == "line\\nnext\\x01");
    CHECK(svg::xml_escape("caf\xc3\xa9 \xe6\xbc\xa2 \xff") == "caf\xc3\xa9 \xe6\xbc\xa2 \\xff");
    CHECK(svg::xml_escape("\xc3") == "\\xc3");  // a truncated two-byte sequence
    CHECK(svg::shorten("abcdefgh", 5) == "abcd…");
    CHECK(svg::shorten("\xc3\xa9\xe6\xbc\xa2x", 3) == "\xc3\xa9\xe6\xbc\xa2x");
    CHECK(svg::number(12.5) == "12.5");
    CHECK(svg::number(3.0) == "3");
    CHECK(svg::number(-0.001) == "0");
}

TEST_CASE("svg: a document nests elements and escapes text") {
    svg::Document doc(100, 50);
    svg::Element& g = doc.add(svg::group("outer"));
    g.add(svg::rect(1, 2, 3, 4, "red")).tooltip("x < y & z");
    g.add(svg::text(5, 6, "<tag>"));
    g.add(svg::polyline({{0, 0}, {1.5, 2.25}}, "blue"));
    const std::string s = doc.str();
    const XmlCheck r = require_well_formed(s);
    CHECK(r.tags.at("rect") == 2);  // with the white background
    CHECK(r.tags.at("g") == 1);
    CHECK(s.find("viewBox=\"0 0 100 50\"") != std::string::npos);
    CHECK(s.find("<title>x &lt; y &amp; z</title>") != std::string::npos);
    CHECK(s.find("&lt;tag&gt;") != std::string::npos);
    CHECK(s.find("points=\"0,0 1.5,2.25\"") != std::string::npos);
    CHECK(check_xml("<svg><g></svg></g>").error.find("mismatched") == 0);  // the checker can fail
    const fs::path path =
        fs::temp_directory_path() / fmt::format("tapegrad_viz_{}.svg", ::getpid());
    doc.save(path);
    const std::vector<std::byte> saved = read_file(path);
    CHECK(std::string(reinterpret_cast<const char*>(saved.data()), saved.size()) == s);
    fs::remove(path);
}

TEST_CASE("attention_svg: one cell per query-key pair per head, with labels, legend and tooltips") {
    const Tensor weights = softmax(uniform({1, 2, 3, 4}, -2, 2, {.seed = 5}), -1);
    const std::string s = attention_svg(weights, {"the", "cat", "sat"},
                                        {"<s>", "the", "cat", "sat"}, {.title = "GPT block 0"});
    const XmlCheck r = require_well_formed(s);
    CHECK(count(s, "class=\"cell\"") == 2 * 3 * 4);
    CHECK(r.tags.at("title") == 2 * 3 * 4);
    CHECK(count(s, "class=\"query-label\"") == 2 * 3);
    CHECK(count(s, "class=\"key-label\"") == 2 * 4);
    CHECK(count(s, "class=\"legend\"") == 1);
    CHECK(count(s, ">head 0<") == 1);
    CHECK(count(s, ">head 1<") == 1);
    CHECK(s.find(">GPT block 0<") != std::string::npos);
    CHECK(s.find(">&lt;s&gt;<") != std::string::npos);
    const std::string tooltip = fmt::format(
        "query 2 &apos;sat&apos; → key 3 &apos;sat&apos;: {:.4g}", weights.at({0, 1, 2, 3}));
    CHECK(s.find(tooltip) != std::string::npos);
}

TEST_CASE("attention_svg: one row of head grids per layer, for the chosen batch item") {
    std::vector<Tensor> layers;
    for (int l = 0; l < 3; ++l)
        layers.push_back(full({2, 2, 3, 3}, 0.1 * l + 0.05, {.dtype = f64}));
    layers[1] = layers[1] + from({0, 0.5}, {2, 1, 1, 1}, {.dtype = f64});  // batch 1 differs
    const std::string s =
        attention_svg(layers, {}, {}, {.batch_index = 1, .layer_names = {"h.0", "h.1", "h.2"}});
    require_well_formed(s);
    CHECK(count(s, "class=\"cell\"") == 3 * 2 * 9);
    CHECK(count(s, ">h.1 · head 1<") == 1);
    CHECK(count(s, "&apos;2&apos;: 0.65<") == 2 * 3);  // layer 1, batch 1, key 2: 0.15 + 0.5
    CHECK(count(s, "&apos;2&apos;: 0.15<") == 0);
}

TEST_CASE("attention_svg: labels are escaped and long ones shortened") {
    const Tensor w = full({2, 2}, 0.5);
    const std::string s = attention_svg(w, {"a<b", "x&y"}, {"\"q\"", "averyveryverylongtoken"}, {});
    require_well_formed(s);
    CHECK(s.find(">a&lt;b<") != std::string::npos);
    CHECK(s.find(">x&amp;y<") != std::string::npos);
    CHECK(s.find(">&quot;q&quot;<") != std::string::npos);
    CHECK(s.find(">averyveryve…<") != std::string::npos);
    CHECK(s.find("a<b") == std::string::npos);
}

TEST_CASE("attention_svg: the colour scale is 0..1, or min..max with data_range") {
    const Tensor w = from({0, 1, 0.5, 0.25}, {2, 2});
    const std::string unit = attention_svg(w, {}, {});
    CHECK(count(unit, "fill=\"#440154\"") == 1);  // viridis' ends: 0 is dark violet, 1 yellow
    CHECK(count(unit, "fill=\"#fde725\"") == 1);
    CHECK(unit.find(">0.5<") != std::string::npos);  // legend midpoint
    const std::string fitted =
        attention_svg(from({-2, 6, 0, 2}, {2, 2}), {}, {}, {.data_range = true});
    CHECK(fitted.find(">-2<") != std::string::npos);
    CHECK(fitted.find(">6<") != std::string::npos);
    CHECK(count(fitted, "fill=\"#fde725\"") == 1);
}

TEST_CASE(
    "attention_svg: bad shapes, labels, batch index and dtype are errors naming the operands") {
    const Tensor w = full({1, 2, 3, 4}, 0.25);
    test::check_throws_with<ShapeError>(
        [&] {
            attention_svg(full({1, 1, 1, 3, 4}, 0.1), {}, {});
        },
        {"attention_svg", "[1,1,1,3,4]", "rank 5"});
    test::check_throws_with<ShapeError>(
        [&] {
            attention_svg(w, {"a", "b"}, {});
        },
        {"attention_svg", "[1,2,3,4]", "query lengths differ (3 vs 2)"});
    test::check_throws_with<ValueError>([&] { attention_svg(w, {}, {}, {.batch_index = 1}); },
                                        {"batch_index 1 out of range (batch size 1)"});
    test::check_throws_with<ValueError>(
        [&] {
            attention_svg(mask(std::vector<std::uint8_t>(4, 1), {2, 2}), {}, {});
        },
        {"attention_svg", "b8"});
    test::check_throws_with<ShapeError>(
        [&] {
            attention_svg({w, full({1, 2, 3, 3}, 0.3)}, {}, {});
        },
        {"layer 0 [1,2,3,4], layer 1 [1,2,3,3]", "shapes differ"});
}

TEST_CASE("mask_text and mask_svg: a causal mask") {
    const std::vector<std::uint8_t> causal = {1, 0, 0, 1, 1, 0, 1, 1, 1};
    CHECK(mask_text(mask(causal, {3, 3})) == "■ · ·\n■ ■ ·\n■ ■ ■\n");
    CHECK(mask_text(mask(causal, {1, 1, 3, 3})) == "■ · ·\n■ ■ ·\n■ ■ ■\n");
    test::check_throws_with<ShapeError>(
        [&] {
            mask_text(mask(std::vector<std::uint8_t>(18, 1), {2, 3, 3}));
        },
        {"mask_text", "[2,3,3]"});
    test::check_throws_with<ValueError>(
        [&] {
            mask_text(full({2, 2}, 1.0));
        },
        {"mask_text", "b8", "f32"});
    const std::string s = mask_svg(mask(causal, {3, 3}), {"a", "b", "c"}, {"a", "b", "c"});
    require_well_formed(s);
    CHECK(count(s, "class=\"cell\"") == 9);
    CHECK(count(s, ": masked</title>") == 3);
    CHECK(count(s, ": may attend</title>") == 6);
    CHECK(s.find(">may attend</text>") != std::string::npos);  // legend
}

namespace {
std::vector<MetricsPoint> falling_loss(int rows) {  // val_loss every third row
    std::vector<MetricsPoint> points;
    for (int i = 0; i < rows; ++i) {
        MetricsPoint p{.step = 10 * i, .loss = 4.3 - 3.1 * i / (rows - 1)};
        if (i % 3 == 0) p.val_loss = p.loss + 0.2;
        points.push_back(p);
    }
    return points;
}
}  // namespace

TEST_CASE(
    "loss_curve_svg: one point per row, one validation point per validation row, round ticks") {
    const std::string s = loss_curve_svg(falling_loss(10), {.title = "tiny GPT"});
    require_well_formed(s);
    const auto train = polyline_points(s, "train-loss");
    const auto val = polyline_points(s, "val-loss");
    REQUIRE(train.size() == 10);
    CHECK(val.size() == 4);
    CHECK(train.front().first == doctest::Approx(72));             // step 0 on the left edge
    CHECK(train.back().first == doctest::Approx(72 + 0.9 * 544));  // step 90 of an axis to 100
    for (std::size_t i = 1; i < train.size(); ++i) CHECK(train[i].second > train[i - 1].second);
    for (const char* label : {">0<", ">20<", ">100<", ">1<", ">5<", ">step<", ">loss<",
                              ">train loss<", ">validation loss<", ">tiny GPT<"})
        CHECK_MESSAGE(s.find(label) != std::string::npos, label);
    CHECK(loss_curve_svg({{.step = 1, .loss = 2.0}}).find("val-loss") == std::string::npos);
}

TEST_CASE("loss_curve_svg: NaN losses are skipped and a log step axis needs steps above 0") {
    std::vector<MetricsPoint> points = falling_loss(7);
    points[2].loss = NAN;
    CHECK(polyline_points(loss_curve_svg(points), "train-loss").size() == 6);
    test::check_throws_with<ValueError>([&] { loss_curve_svg(points, {.log_step = true}); },
                                        {"row 0 has step 0", "logarithmic"});
    for (auto& p : points) p.step = p.step * 50 + 1;
    const std::string s = loss_curve_svg(points, {.log_step = true});
    for (const char* label : {">1<", ">10<", ">100<", ">1000<"})
        CHECK_MESSAGE(s.find(label) != std::string::npos, label);
    CHECK_THROWS_AS(loss_curve_svg({}), ValueError);
}

TEST_CASE("loss_curves_svg: several runs on one chart, one colour and two legend rows a run") {
    std::vector<MetricsPoint> lower = falling_loss(10);
    for (MetricsPoint& p : lower) p.loss -= 1.0;  // runs down to 0.2, the other to 1.2
    const std::string s = loss_curves_svg(
        {{.label = "fp32", .points = falling_loss(10)}, {.label = "bf16", .points = lower}});
    require_well_formed(s);
    const auto count = [&](std::string_view what) {
        std::size_t n = 0;
        for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
        return n;
    };
    CHECK(count(R"(class="train-loss")") == 2);
    CHECK(count(R"(class="val-loss")") == 2);
    for (const char* label : {">fp32 train<", ">fp32 validation<", ">bf16 train<",
                              ">bf16 validation<", R"("#1f77b4")", R"("#d62728")"})
        CHECK_MESSAGE(s.find(label) != std::string::npos, label);
    // one frame for both: the lower run's last point sits at the bottom edge, the other's above
    const double bottom = 400 - 56;
    CHECK(polyline_points(s, "train-loss").back().second < bottom - 50);
    const std::size_t second = s.find(R"(class="train-loss")", s.find(R"(class="train-loss")") + 1);
    CHECK(polyline_points(s.substr(0, second + 20), "train-loss").size() == 10);
    CHECK_THROWS_AS(loss_curves_svg({{.label = "a", .points = {}}}), ValueError);
}

TEST_CASE("viz::Axis: ticks are round numbers covering the data") {
    const viz::Axis a = viz::Axis::linear(0.13, 0.87);
    CHECK(a.ticks() == std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1});
    CHECK(a.label(0.4) == "0.4");
    CHECK(viz::Axis::linear(1, 3, 6, /*integer=*/true).ticks() == std::vector<double>{1, 2, 3});
    CHECK(viz::Axis::linear(2, 2).ticks().size() >= 2);  // an empty range is widened
    CHECK(viz::Axis::logarithmic(3, 2000).ticks() == std::vector<double>{1, 10, 100, 1000, 10000});
    CHECK(viz::Axis::logarithmic(3, 20).ticks() == std::vector<double>{1, 2, 5, 10, 20, 50, 100});
}

TEST_CASE("read_metrics_jsonl: reads the metrics log, and a bad line names the path and line") {
    const fs::path path =
        fs::temp_directory_path() / fmt::format("tapegrad_viz_{}.jsonl", ::getpid());
    fs::remove(path);
    const MetricsLog log(path.string());
    log.append({.step = 1, .loss = 2.5});
    log.append({.step = 2, .loss = 2.25, .val_loss = 2.75});
    log.append({.step = 3, .loss = NAN});  // written as null
    const std::vector<MetricsPoint> rows = read_metrics_jsonl(path);
    REQUIRE(rows.size() == 3);
    CHECK(rows[1].step == 2);
    CHECK(rows[1].loss == 2.25);
    CHECK(rows[1].val_loss == 2.75);
    CHECK(!rows[0].val_loss);
    CHECK(std::isnan(rows[2].loss));
    { std::ofstream(path, std::ios::app) << "\n{\"step\": 5, \"loss\": \"high\"}\n"; }
    test::check_throws_with<IoError>([&] { read_metrics_jsonl(path); },
                                     {path.string(), "line 5", "loss"});
    { std::ofstream(path) << "{\"step\": 1, \"loss\": 1}\n{\"step\": 2,\n"; }
    test::check_throws_with<IoError>([&] { read_metrics_jsonl(path); }, {path.string(), "line 2"});
    fs::remove(path);
    test::check_throws_with<IoError>([&] { read_metrics_jsonl(path); }, {path.string()});
}

namespace {
// x [2,3] -> linear -> relu -> linear -> sum; returns the loss and the named parameters.
std::pair<Tensor, std::vector<std::pair<std::string, Tensor>>> tiny_mlp() {
    const Tensor x = uniform({2, 3}, -1, 1, {.seed = 1});
    std::vector<std::pair<std::string, Tensor>> params = {
        {"0.kernel", uniform({3, 4}, -1, 1, {.seed = 2, .requires_grad = true})},
        {"0.bias", zeros({4}, {.requires_grad = true})},
        {"1.kernel", uniform({4, 1}, -1, 1, {.seed = 3, .requires_grad = true})},
        {"1.bias", zeros({1}, {.requires_grad = true})}};
    const Tensor h = relu(linear(x, params[0].second, params[1].second));
    return {sum(linear(h, params[2].second, params[3].second)), params};
}
}  // namespace

TEST_CASE("graph_dot: a tiny MLP's tape as deterministic Graphviz DOT") {
    const auto [loss, params] = tiny_mlp();
    const std::string dot = graph_dot(loss, params);
    INFO(dot);
    CHECK(dot.rfind("digraph tape {", 0) == 0);
    CHECK(count(dot, "label=\"linear\\n[2,4] f32\"") == 1);
    CHECK(count(dot, "label=\"relu\\n[2,4] f32\"") == 1);
    CHECK(count(dot, "label=\"linear\\n[2,1] f32\"") == 1);
    CHECK(count(dot, "label=\"sum\\n[] f32\", peripheries") == 0);  // the root is drawn doubled
    CHECK(count(dot, "peripheries=2, label=\"sum\\n[] f32\"") == 1);
    CHECK(count(dot, " -> ") == 3 + 1 + 3 + 1);
    CHECK(count(dot, "shape=box") == 5);  // x and the four parameters
    CHECK(count(dot, "\\nrequires_grad") == 4);
    CHECK(count(dot, "\\nconstant") == 1);
    CHECK(dot.find("label=\"0.kernel\\n[3,4] f32\\nrequires_grad\"") != std::string::npos);
    CHECK(dot.find("op0 -> op1;") != std::string::npos);  // linear feeds relu
    CHECK(dot.find("op1 -> op2 [label=\"0\"];") != std::string::npos);
    CHECK(dot.find("op2 -> op3;") != std::string::npos);
    const auto [again, again_params] = tiny_mlp();
    CHECK(graph_dot(again, again_params) == dot);  // same computation, same text
}

TEST_CASE("graph_dot: a tensor used twice is one leaf and a leaf root is one box") {
    const Tensor x = from({1, 2}, {2}, {.requires_grad = true});
    const std::string dot = graph_dot(x * x);
    CHECK(count(dot, "shape=box") == 1);
    CHECK(dot.find("leaf0 -> op0 [label=\"0\"];\n  leaf0 -> op0 [label=\"1\"];") !=
          std::string::npos);
    const std::string leaf = graph_dot(x);
    CHECK(count(leaf, "shape=box") == 1);
    CHECK(count(leaf, "->") == 0);
}
