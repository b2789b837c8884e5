// The HTML report (viz/report.hpp): what the page holds, checked as text, then the page opened in
// headless Chromium (Debian's `chromium`; the browser test skips with a message without it):
// a screenshot, no console errors, every chart's SVG drawn at a non-zero size with the expected
// number of lines and dots, and a click or hover on a head of the attention grid enlarging it.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "cli_runner.hpp"
#include "support.hpp"
#include "viz/report.hpp"
#include "viz/svg.hpp"

using namespace tapegrad;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t layers = 2, heads = 2, T = 4;

HealthStats health_at(std::int64_t step) {
    HealthStats h{.step = step, .logit_max = 3.0 + double(step)};
    for (const char* name : {"wte.weight", "h.0.attn.c_attn.weight", "h.0.mlp.c_fc.bias",
                             "h.1.attn.c_attn.weight", "ln_f.weight"})
        h.parameters.push_back({.name = name,
                                .grad_norm = 0.5 + 0.01 * double(step),
                                .weight_norm = 2.0,
                                .update_ratio = 1e-3});
    for (std::int64_t l = 0; l < layers; ++l)
        h.layers.push_back({.mean = 0.01,
                            .std = 1.0 + 0.1 * double(l),
                            .gelu_below_minus3 = 0.02,
                            .attention_entropy = {0.5, 0.9}});
    return h;
}

// 10 steps, validation after steps 4 and 9, health on steps 0 and 5.
std::vector<MetricsPoint> known_metrics() {
    std::vector<MetricsPoint> rows;
    for (std::int64_t s = 0; s < 10; ++s) {
        MetricsPoint p{.step = s, .loss = 3.0 - 0.2 * double(s), .lr = 1e-3 * double(s + 1) / 10};
        if (s == 4 || s == 9) p.val_loss = p.loss + 0.1;
        if (s % 5 == 0) p.health = health_at(s);
        rows.push_back(p);
    }
    return rows;
}

// Causal weights: query q spreads evenly over keys 0..q.
Tensor causal_maps() {
    std::vector<double> w;
    for (std::int64_t h = 0; h < heads; ++h)
        for (std::int64_t q = 0; q < T; ++q)
            for (std::int64_t k = 0; k < T; ++k) w.push_back(k <= q ? 1.0 / double(q + 1) : 0.0);
    return from(w, {1, heads, T, T});
}

LogitLens known_lens() {
    LogitLens lens{.tokens = {"a", "b", "c", "d"}, .layers = {"embeddings", "block 0", "block 1"}};
    for (std::size_t l = 0; l < 3; ++l) {
        auto& row = lens.top.emplace_back();
        for (std::size_t t = 0; t < 4; ++t) row.push_back({{"x", 0.5}, {"y", 0.25}});
        lens.residual_norms.push_back(1.0 + double(l));
    }
    lens.head_logit = {{0.1, -0.2}, {0.3, 0.05}};
    return lens;
}

Report known_report() {
    ReportSection s{.title = "a <tiny> model",
                    .notes = {"accuracy 100%"},
                    .metrics = known_metrics(),
                    .attention = ReportAttention{.maps = {causal_maps(), causal_maps()},
                                                 .query_labels = {"a", "b", "c", "d"},
                                                 .key_labels = {"a", "b", "c", "d"}},
                    .lens = known_lens(),
                    .sample = "hello & goodbye",
                    .gradcheck = "parameter  ok\nh.0.w  ok"};
    return Report{.title = "test report", .sections = {std::move(s)}};
}

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = 0; (at = text.find(what, at)) != std::string::npos; at += what.size())
        ++n;
    return n;
}

// The charts and how many lines each must draw (the dots: only the loss chart's 2 validations).
const std::vector<std::pair<std::string, std::size_t>> expected_lines = {
    {"loss", 2},    {"lr", 1},        {"update_ratio", 3}, {"grad_norm", 3},
    {"act_std", 2}, {"gelu_tail", 2}, {"attn_entropy", 2}, {"logit_max", 1}};

}  // namespace

TEST_CASE("report: one chart per metric with one line per block, and nothing fetched") {
    const std::vector<ReportChart> charts = metrics_charts(known_metrics());
    REQUIRE(charts.size() == expected_lines.size());
    for (std::size_t i = 0; i < charts.size(); ++i) {
        INFO(charts[i].id);
        CHECK(charts[i].id == expected_lines[i].first);
        CHECK(charts[i].lines == expected_lines[i].second);
        CHECK(count(charts[i].svg, "<polyline") == expected_lines[i].second);
        CHECK(count(charts[i].svg, "<circle") == (i == 0 ? 2u : 0u));
    }
    // A model exposing only its attention (the toy tasks' encoder) gets only that chart.
    std::vector<MetricsPoint> partial = known_metrics();
    for (MetricsPoint& p : partial)
        if (p.health) {
            p.health->logit_max.reset();
            for (LayerHealth& l : p.health->layers) l.mean = l.std = l.gelu_below_minus3 = {};
            p.health = parse_health_json(health_json(*p.health), p.step);  // as a log holds it
        }
    std::vector<std::string> ids;
    for (const ReportChart& c : metrics_charts(partial)) ids.push_back(c.id);
    CHECK(ids ==
          std::vector<std::string>{"loss", "lr", "update_ratio", "grad_norm", "attn_entropy"});
    CHECK(charts[2].svg.find(">h.1<") != std::string::npos);    // block groups in the legend
    CHECK(charts[2].svg.find(">other<") != std::string::npos);  // wte and ln_f together

    const std::string html = report_html(known_report());
    CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
    // Self-contained: no scripts, styles, fonts or images from anywhere; the only URL is the
    // SVG namespace name, which is never fetched.
    for (const char* external : {"src=", "<link", "@import", "url(http", "@font-face"})
        CHECK_MESSAGE(html.find(external) == std::string::npos, external);
    std::regex url(R"(https?://[^"' )<]+)");
    for (std::sregex_iterator m(html.begin(), html.end(), url), end; m != end; ++m)
        CHECK(m->str() == "http://www.w3.org/2000/svg");
    CHECK(html.find("a &lt;tiny&gt; model") != std::string::npos);  // escaped
    CHECK(html.find("hello &amp; goodbye") != std::string::npos);
    CHECK(count(html, "<details class=\"head\"") == layers * heads);  // the no-JS enlargements
    CHECK(html.find("attention entropy of each head at step 5") != std::string::npos);
    CHECK(count(html, "<td>0.900</td>") == layers);  // head 1 of each block
    CHECK(count(html, "<svg") == expected_lines.size() + 1 + layers * heads + 1);
    CHECK(html.find("parameter  ok\nh.0.w  ok") != std::string::npos);  // lines stay lines

    const std::string empty = report_html(Report{.sections = {ReportSection{.title = "bare"}}});
    CHECK(empty.find("no metrics given") != std::string::npos);
    CHECK(empty.find("no model given") != std::string::npos);
}

namespace {

// Runs before the page's own script: keeps every error and console.error for the results.
constexpr const char* error_catcher = R"(<script>
window.__errors = [];
window.addEventListener("error", function (e) { window.__errors.push(String(e.message)); });
(function () { var original = console.error;
  console.error = function () { window.__errors.push(Array.from(arguments).join(" "));
                                original.apply(console, arguments); }; })();
</script>)";

// Runs after it: measures the charts, clicks and hovers heads, writes the results as JSON.
constexpr const char* probe = R"(<script>
(function () {
  var out = { errors: window.__errors, charts: [] };
  document.querySelectorAll("figure.chart").forEach(function (f) {
    var svg = f.querySelector("svg"), box = svg.getBoundingClientRect();
    out.charts.push({ id: f.dataset.chart || f.className, width: box.width, height: box.height,
                      lines: svg.querySelectorAll("polyline").length,
                      dots: svg.querySelectorAll("circle").length,
                      cells: svg.querySelectorAll("rect.cell").length });
  });
  var focus = document.querySelector(".head-focus");
  var panels = document.querySelectorAll(".attention-grid g.panel");
  out.panels = panels.length;
  out.hidden_before = focus.hidden;
  panels[3].dispatchEvent(new MouseEvent("click", { bubbles: true }));
  var big = focus.querySelector("svg");
  out.hidden_after = focus.hidden;
  out.clicked = focus.dataset.shown;
  out.focus_width = big ? big.getBoundingClientRect().width : 0;
  out.focus_cells = big ? big.querySelectorAll("rect.cell").length : 0;
  out.focus_title = big ? big.querySelector("text.title").textContent : "";
  var bar = big ? big.querySelector("rect[fill^='url(#']") : null;
  var gradient = bar ? document.getElementById(bar.getAttribute("fill").slice(5, -1)) : null;
  out.focus_gradient_shown = !!gradient && focus.contains(gradient);
  out.focus_labels = big ? Array.from(big.querySelectorAll("text.query-label"),
                                      function (t) { return t.textContent; }) : [];
  panels[1].dispatchEvent(new MouseEvent("mouseenter"));
  out.hovered = focus.dataset.shown;
  var pre = document.createElement("pre");
  pre.id = "probe-results";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>)";

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// Headless Chromium on `page` with `mode` (--dump-dom or --screenshot=...): its stdout, or empty
// when it could not run (the reason then in `why`).
std::string chromium(const fs::path& dir, const std::string& mode, const fs::path& page,
                     std::string& why) {
    const std::string command =
        "( timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run "
        "--hide-scrollbars --window-size=1280,2000 --user-data-dir=" +
        test::shell_quote((dir / "profile").string()) + " " + test::shell_quote(mode) + " " +
        test::shell_quote("file://" + page.string()) + " 2>" +
        test::shell_quote((dir / "chromium.err").string()) + " )";
    const test::CliResult r = test::run_command(command);
    if (r.status != 0) {
        const std::string err = read_text(dir / "chromium.err");
        why = "exit status " + std::to_string(r.status) + ": " + err.substr(0, 400);
        return {};
    }
    return r.output;
}

std::string unescape_html(std::string text) {
    for (const auto& [from, to] : {std::pair<std::string, std::string>{"&lt;", "<"},
                                   {"&gt;", ">"},
                                   {"&quot;", "\""},
                                   {"&amp;", "&"}})
        for (std::size_t at; (at = text.find(from)) != std::string::npos;)
            text.replace(at, from.size(), to);
    return text;
}

}  // namespace

TEST_CASE("report: in headless Chromium the charts draw, no errors, and a head enlarges") {
    if (std::system("command -v chromium >/dev/null 2>&1") != 0) {
        MESSAGE("skipped: chromium is not installed (Debian package 'chromium')");
        return;
    }
    const fs::path dir = fs::absolute(test::scratch_dir("report_browser"));
    std::string html = report_html(known_report());
    svg::save_file(dir / "report.html", html);
    html.insert(html.find("<head>") + 6, error_catcher);
    html.insert(html.rfind("</body>"), probe);
    svg::save_file(dir / "probed.html", html);

    std::string why;
    const std::string dom = chromium(dir, "--dump-dom", dir / "probed.html", why);
    if (dom.find("<html") == std::string::npos) {
        MESSAGE("skipped: headless chromium could not start: " << why);
        return;
    }
    const std::size_t start = dom.find("<pre id=\"probe-results\">");
    REQUIRE_MESSAGE(start != std::string::npos, "the probe left no results: ", dom.substr(0, 2000));
    const std::size_t body = dom.find('>', start) + 1;
    const nlohmann::json r =
        nlohmann::json::parse(unescape_html(dom.substr(body, dom.find("</pre>", body) - body)));
    INFO(r.dump(1));

    CHECK(r["errors"].empty());
    std::map<std::string, nlohmann::json> charts;
    for (const auto& c : r["charts"]) charts[c["id"].get<std::string>()] = c;
    for (const auto& [id, lines] : expected_lines) {
        INFO(id);
        REQUIRE(charts.count(id));
        CHECK(charts[id]["width"].get<double>() > 100);
        CHECK(charts[id]["height"].get<double>() > 100);
        CHECK(charts[id]["lines"] == lines);
        CHECK(charts[id]["dots"] == (id == "loss" ? 2 : 0));
    }
    const auto grid = charts.find("chart attention-grid");
    REQUIRE(grid != charts.end());
    CHECK(grid->second["width"].get<double>() > 100);
    CHECK(grid->second["cells"] == layers * heads * T * T);
    const auto lens = charts.find("chart lens");
    REQUIRE(lens != charts.end());
    CHECK(lens->second["cells"] == 3 * 4 + 2 * 2);
    CHECK(lens->second["height"].get<double>() > 50);

    CHECK(r["panels"] == layers * heads);
    CHECK(r["hidden_before"] == true);
    CHECK(r["hidden_after"] == false);
    CHECK(r["clicked"] == "1,1");  // the 4th panel: layer 1, head 1
    CHECK(r["focus_title"] == "layer 1 · head 1");
    CHECK(r["focus_cells"] == T * T);
    CHECK(r["focus_width"].get<double>() > grid->second["width"].get<double>() / 4);
    CHECK(r["focus_labels"] == nlohmann::json::array({"a", "b", "c", "d"}));
    CHECK(r["hovered"] == "0,1");
    CHECK(r["focus_gradient_shown"] == true);  // its colour bar paints from a shown gradient

    const fs::path shot = dir / "report.png";
    chromium(dir, "--screenshot=" + shot.string(), dir / "report.html", why);
    REQUIRE_MESSAGE(fs::exists(shot), why);
    const std::string png = read_text(shot);
    CHECK(png.substr(1, 3) == "PNG");
    CHECK(png.size() > 20000);  // a blank page compresses to a few hundred bytes
}
