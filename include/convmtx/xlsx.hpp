// A minimal Office Open XML workbook writer (.xlsx, ECMA-376 SpreadsheetML): sheets of numbers, text and
// formulas with a few cell styles, zipped with libzip and written atomically (file.hpp). Enough for the
// spreadsheet views of a convolution (convmtx spreadsheet); Excel and LibreOffice compute the formulas
// when the file opens (fullCalcOnLoad).
#pragma once

#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "convmtx/spec.hpp"

namespace convmtx::xlsx {

/// The styles a cell can have: plain, bold text, and a centred number on a coloured fill.
enum class Style { plain, bold, input, kernel, output };

/// "A", "B", ..., "Z", "AA", ...: the letters of 1-based column `col` (1 <= col <= 16384; config_error otherwise).
std::string column_name(index_t col);

/// One worksheet: cells addressed by 1-based (row, column).
class Sheet {
public:
    /// A number (finite; config_error otherwise).
    void number(index_t row, index_t col, double value, Style style = Style::plain);
    /// A text (inline string).
    void text(index_t row, index_t col, std::string value, Style style = Style::plain);
    /// A formula without the leading '=' (e.g. "B4*G6+C4*G4"); at most 8192 characters (config_error otherwise).
    void formula(index_t row, index_t col, std::string value, Style style = Style::plain);
    /// The sheet's name.
    const std::string& name() const { return name_; }

private:
    friend class Workbook;
    struct Cell {
        enum class Kind { number, text, formula } kind = Kind::number;
        double number = 0;
        std::string text;
        Style style = Style::plain;
    };
    explicit Sheet(std::string name) : name_(std::move(name)) {}
    void put(index_t row, index_t col, Cell cell);
    std::string name_;
    std::map<std::pair<index_t, index_t>, Cell> cells_;
};

/// A workbook of sheets in order.
class Workbook {
public:
    /// Appends a sheet; config_error for a name that is empty, longer than 31 characters, holds one of
    /// : \ / ? * [ ] or is already taken.
    Sheet& add_sheet(const std::string& name);
    /// The .xlsx bytes (a zip archive).
    std::string bytes() const;
    /// Writes the workbook to `path` atomically (never a partial file); io_error when it cannot.
    void save(const std::string& path) const;

private:
    std::deque<Sheet> sheets_;  ///< a deque: the references add_sheet returns stay valid
};

}  // namespace convmtx::xlsx
