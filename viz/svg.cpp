#include "viz/svg.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "core/utf8.hpp"
#include "io/atomic_file.hpp"

namespace tapegrad::svg {
namespace {

// Where the character after the one at s[i] starts; an invalid byte counts as one character.
std::size_t next_char(std::string_view s, std::size_t i) {
    return i + std::max<std::size_t>(1, utf8_sequence_length(s, i));
}

// Escape for one ASCII byte, or empty when it is written as is.
std::string_view ascii_escape(char c) {
    switch (c) {
        case '&':
            return "&amp;";
        case '<':
            return "&lt;";
        case '>':
            return "&gt;";
        case '"':
            return "&quot;";
        case '\'':
            return "&apos;";
        case '\n':
            return "\\n";
        case '\t':
            return "\\t";
        case '\r':
            return "\\r";
        default:
            return {};
    }
}

void write_indent(std::string& out, int depth) {
    out.append(static_cast<std::size_t>(depth) * 2, ' ');
}

}  // namespace

std::string xml_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n = utf8_sequence_length(text, i);
        const auto byte = static_cast<std::uint8_t>(text[i]);
        if (n == 1 && !ascii_escape(text[i]).empty()) {
            out += ascii_escape(text[i]);
        } else if (n == 0 || (n == 1 && (byte < 0x20 || byte == 0x7F))) {
            out += fmt::format("\\x{:02x}", byte);  // XML 1.0 forbids these even as &#..;
            i += 1;
            continue;
        } else {
            out.append(text.substr(i, n));
        }
        i += n;
    }
    return out;
}

std::string number(double value, int decimals) {
    if (!std::isfinite(value)) return "0";
    std::string s = fmt::format("{:.{}f}", value, decimals);
    if (s.find('.') != std::string::npos) {
        while (s.back() == '0') s.pop_back();
        if (s.back() == '.') s.pop_back();
    }
    return s == "-0" ? "0" : s;
}

Element& Element::attr(std::string_view name, std::string_view value) {
    for (auto& [key, old] : attrs_)
        if (key == name) {
            old = value;
            return *this;
        }
    attrs_.emplace_back(name, value);
    return *this;
}

Element& Element::text(std::string_view content) {
    text_ = content;
    return *this;
}

Element& Element::tooltip(std::string_view content) {
    add(Element("title")).text(content);
    return *this;
}

Element& Element::add(Element child) {
    children_.push_back(std::make_unique<Element>(std::move(child)));
    return *children_.back();
}

void Element::write(std::string& out, int depth) const {
    write_indent(out, depth);
    out += '<' + tag_;
    for (const auto& [key, value] : attrs_)
        out += fmt::format(" {}=\"{}\"", key, xml_escape(value));
    if (text_.empty() && children_.empty()) {
        out += "/>\n";
        return;
    }
    out += '>';
    out += xml_escape(text_);
    if (!children_.empty()) {
        out += '\n';
        for (const auto& child : children_) child->write(out, depth + 1);
        write_indent(out, depth);
    }
    out += "</" + tag_ + ">\n";
}

Element rect(double x, double y, double width, double height, std::string_view fill) {
    Element e("rect");
    e.attr("x", x).attr("y", y).attr("width", width).attr("height", height).attr("fill", fill);
    return e;
}

Element line(double x1, double y1, double x2, double y2, std::string_view stroke) {
    Element e("line");
    e.attr("x1", x1).attr("y1", y1).attr("x2", x2).attr("y2", y2).attr("stroke", stroke);
    return e;
}

Element polyline(const std::vector<Point>& points, std::string_view stroke) {
    std::string coords;
    for (const Point& p : points) {
        if (!coords.empty()) coords += ' ';
        coords += number(p.x) + ',' + number(p.y);
    }
    Element e("polyline");
    e.attr("points", coords).attr("fill", "none").attr("stroke", stroke);
    return e;
}

Element circle(double cx, double cy, double r, std::string_view fill) {
    Element e("circle");
    e.attr("cx", cx).attr("cy", cy).attr("r", r).attr("fill", fill);
    return e;
}

Element text(double x, double y, std::string_view content, double font_size,
             std::string_view anchor) {
    Element e("text");
    e.attr("x", x).attr("y", y).attr("font-size", font_size).attr("text-anchor", anchor);
    e.text(content);
    return e;
}

Element group(std::string_view css_class) {
    Element e("g");
    if (!css_class.empty()) e.attr("class", css_class);
    return e;
}

Document::Document(double width, double height) : root_("svg") {
    root_.attr("xmlns", "http://www.w3.org/2000/svg")
        .attr("width", width)
        .attr("height", height)
        .attr("viewBox", fmt::format("0 0 {} {}", number(width), number(height)))
        .attr("font-family", "DejaVu Sans, Arial, sans-serif");
    root_.add(rect(0, 0, width, height, "white"));
}

std::string Document::str() const {
    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    root_.write(out, 0);
    return out;
}

void Document::save(const std::filesystem::path& path) const { save_file(path, str()); }

void save_file(const std::filesystem::path& path, std::string_view svg_text) {
    std::error_code ec;
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
    if (ec)
        throw_io_error(path.string(), fmt::format("cannot create its directory: {}", ec.message()));
    write_file_atomic(path, std::as_bytes(std::span(svg_text.data(), svg_text.size())));
}

double text_width(std::string_view text, double font_size) {
    std::size_t chars = 0;
    for (std::size_t i = 0; i < text.size(); i = next_char(text, i)) ++chars;
    return 0.62 * font_size * static_cast<double>(chars);
}

std::string shorten(std::string_view text, std::size_t max_chars) {
    std::size_t i = 0, chars = 0;
    while (i < text.size() && chars < max_chars) {
        i = next_char(text, i);
        ++chars;
    }
    if (i >= text.size()) return std::string(text);
    // Leave room for the ellipsis: drop the last kept code point.
    std::size_t keep = 0, kept = 0;
    while (kept + 1 < max_chars) {
        keep = next_char(text, keep);
        ++kept;
    }
    return std::string(text.substr(0, keep)) + "…";
}

}  // namespace tapegrad::svg
