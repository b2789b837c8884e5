#include "io/json_strict.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <vector>

#include "core/utf8.hpp"
#include "io/atomic_file.hpp"

namespace tapegrad {
namespace {

using json = nlohmann::json;

// nlohmann's message without its "[json.exception.parse_error.101] " prefix.
std::string_view json_reason(const json::exception& e) {
    std::string_view why = e.what();
    why.remove_prefix(std::min(why.size(), why.find("] ") + 2));
    return why;
}

}  // namespace

std::string short_dump(const json& v) {
    std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
    if (s.size() > 60) s = s.substr(0, 57) + "...";
    return s;
}

json parse_json_strict(std::string_view text, const JsonSource& src) {
    const auto bad = [&](const std::string& why) {
        throw_io_error(src.file, fmt::format("{} {}", src.what, why));
    };
    if (const std::size_t at = invalid_utf8_at(text); at != std::string_view::npos)
        bad(fmt::format("is not valid UTF-8 (file offset {})", src.offset + at));
    std::vector<std::set<std::string>> keys;  // the keys seen in each open object
    const auto check = [&](int depth, json::parse_event_t event, json& parsed) {
        using E = json::parse_event_t;
        if ((event == E::object_start || event == E::array_start) && depth > src.max_depth)
            bad(fmt::format("nests objects or lists deeper than a valid {} can", src.what));
        if (event == E::object_start) keys.emplace_back();
        if (event == E::object_end) keys.pop_back();
        if (event == E::key && !keys.back().insert(parsed.get<std::string>()).second)
            bad(fmt::format("has a duplicate key '{}'", parsed.get<std::string>()));
        return true;
    };
    try {
        return json::parse(text.begin(), text.end(), check);
    } catch (const json::parse_error& e) {
        bad(fmt::format("is not valid JSON (file offset {}): {}",
                        src.offset + std::max<std::size_t>(e.byte, 1) - 1, json_reason(e)));
    } catch (const json::exception& e) {  // out_of_range.406: a number too large for a double
        bad(fmt::format("is not valid JSON: {}", json_reason(e)));
    }
    return {};  // unreachable: bad() throws
}

}  // namespace tapegrad
