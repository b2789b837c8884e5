// A tiny SVG writer: a tree of elements with attributes and text, serialised to a string. Enough
// for the teaching pictures in viz/ (heatmaps, loss curves) without a plotting dependency.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace tapegrad::svg {

// Text made safe for XML content and attribute values: & < > " ' become entities; control
// characters and bytes that are not valid UTF-8 become visible escapes ("\n", "\x01").
std::string xml_escape(std::string_view text);
// A coordinate or value with at most `decimals` decimals and no trailing zeros: 12.5, 3, -0.25.
std::string number(double value, int decimals = 2);

struct Point {
    double x = 0.0, y = 0.0;
};

// One element; children are owned, and references returned by add() stay valid.
class Element {
public:
    explicit Element(std::string tag) : tag_(std::move(tag)) {}
    Element(Element&&) = default;
    Element& operator=(Element&&) = default;

    // Sets (or replaces) an attribute; numbers go through svg::number.
    Element& attr(std::string_view name, std::string_view value);
    Element& attr(std::string_view name, const char* value) {
        return attr(name, std::string_view(value));
    }
    template <class N>
    requires std::is_arithmetic_v<N> Element& attr(std::string_view name, N value) {
        return attr(name, std::string_view(number(static_cast<double>(value))));
    }
    Element& text(std::string_view content);  // escaped when written
    // A <title> child: the tooltip viewers show on hover.
    Element& tooltip(std::string_view content);
    Element& add(Element child);  // returns the added child

    const std::string& tag() const { return tag_; }
    std::size_t num_children() const { return children_.size(); }
    void write(std::string& out, int depth) const;

private:
    std::string tag_;
    std::vector<std::pair<std::string, std::string>> attrs_;
    std::string text_;
    std::vector<std::unique_ptr<Element>> children_;
};

// Shape constructors: return an element to chain .attr(...) on and hand to add().
Element rect(double x, double y, double width, double height, std::string_view fill);
Element line(double x1, double y1, double x2, double y2, std::string_view stroke);
Element polyline(const std::vector<Point>& points, std::string_view stroke);
Element circle(double cx, double cy, double r, std::string_view fill);
// text-anchor: "start", "middle" or "end".
Element text(double x, double y, std::string_view content, double font_size = 12,
             std::string_view anchor = "start");
Element group(std::string_view css_class = "");

// The <svg> root with width, height and a matching viewBox; white background.
class Document {
public:
    Document(double width, double height);
    Element& root() { return root_; }
    Element& add(Element child) { return root_.add(std::move(child)); }
    std::string str() const;  // XML declaration + the tree
    // save_file(path, str()).
    void save(const std::filesystem::path& path) const;

private:
    Element root_;
};

// Writes an SVG text (a Document's str(), attention_svg's result...) to `path` atomically
// (io/atomic_file.hpp), creating missing parent directories; IoError names the path.
void save_file(const std::filesystem::path& path, std::string_view svg_text);

// Rough width in pixels of `text` in a sans-serif font of `font_size`: sizes margins for labels.
double text_width(std::string_view text, double font_size);
// `text` cut to at most `max_chars` code points, ending with "…" when cut.
std::string shorten(std::string_view text, std::size_t max_chars);

}  // namespace tapegrad::svg
