// convmtx::cli::closest (cli.hpp): the "did you mean" suggestion of the convmtx and convmtx-mpi
// tools, by edit distance and by abbreviation of a name's parts.
#include <algorithm>
#include <string>
#include <vector>

#include "cli.hpp"

namespace convmtx::cli {

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = up;
        }
    }
    return row[b.size()];
}

std::vector<std::string> name_parts(const std::string& name) {
    std::vector<std::string> parts(1);
    for (size_t i = std::min(name.find_first_not_of('-'), name.size()); i < name.size(); ++i) {
        if (name[i] == '-' || name[i] == '_') parts.emplace_back();
        else parts.back() += name[i];
    }
    return parts;
}

/// "pad_lo" abbreviates "padding_lo", "--out-ch" "--out-channels": part by part, prefixes.
bool abbreviates(const std::string& word, const std::string& name) {
    const auto w = name_parts(word), n = name_parts(name);
    if (w.size() != n.size()) return false;
    for (size_t i = 0; i < w.size(); ++i)
        if (w[i].empty() || n[i].rfind(w[i], 0) != 0) return false;
    return true;
}

}  // namespace

std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
    std::string best;
    size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
    for (const auto& c : candidates) {
        size_t d = edit_distance(word, c);
        if (word.size() >= 4 && abbreviates(word, c)) d = std::min<size_t>(d, 1);
        if (d < best_distance) {
            best = c;
            best_distance = d;
        }
    }
    return best;
}

}  // namespace convmtx::cli
