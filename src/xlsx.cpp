// The .xlsx writer: SpreadsheetML parts (content types, relationships, workbook, styles, one part per
// sheet) zipped in memory with libzip, then written atomically.
#include "convmtx/xlsx.hpp"

#include <zip.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "convmtx/errors.hpp"
#include "convmtx/file.hpp"

namespace convmtx::xlsx {

namespace {

constexpr index_t kMaxRows = 1048576, kMaxCols = 16384;
constexpr std::size_t kMaxFormula = 8192;

std::string escape(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (char ch : s) {
        switch (ch) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            default: out += ch;
        }
    }
    return out;
}

std::string number_text(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

/// The style index of cellXfs in styles.xml.
int style_index(Style s) { return static_cast<int>(s); }

const char* kStyles =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
    "<styleSheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
    "<fonts count=\"2\"><font><sz val=\"11\"/><name val=\"Calibri\"/></font>"
    "<font><b/><sz val=\"11\"/><name val=\"Calibri\"/></font></fonts>"
    "<fills count=\"5\"><fill><patternFill patternType=\"none\"/></fill><fill><patternFill patternType=\"gray125\"/></fill>"
    "<fill><patternFill patternType=\"solid\"><fgColor rgb=\"FFFFE8CC\"/></patternFill></fill>"
    "<fill><patternFill patternType=\"solid\"><fgColor rgb=\"FFD3F9D8\"/></patternFill></fill>"
    "<fill><patternFill patternType=\"solid\"><fgColor rgb=\"FFD0EBFF\"/></patternFill></fill></fills>"
    "<borders count=\"1\"><border/></borders>"
    "<cellStyleXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\"/></cellStyleXfs>"
    "<cellXfs count=\"5\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\"/>"
    "<xf numFmtId=\"0\" fontId=\"1\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyFont=\"1\"/>"
    "<xf numFmtId=\"0\" fontId=\"0\" fillId=\"2\" borderId=\"0\" xfId=\"0\" applyFill=\"1\" applyAlignment=\"1\"><alignment horizontal=\"center\"/></xf>"
    "<xf numFmtId=\"0\" fontId=\"0\" fillId=\"3\" borderId=\"0\" xfId=\"0\" applyFill=\"1\" applyAlignment=\"1\"><alignment horizontal=\"center\"/></xf>"
    "<xf numFmtId=\"0\" fontId=\"0\" fillId=\"4\" borderId=\"0\" xfId=\"0\" applyFill=\"1\" applyAlignment=\"1\"><alignment horizontal=\"center\"/></xf>"
    "</cellXfs><cellStyles count=\"1\"><cellStyle name=\"Normal\" xfId=\"0\" builtinId=\"0\"/></cellStyles>"
    "</styleSheet>\n";

struct SourceFree {
    void operator()(zip_source_t* s) const { zip_source_free(s); }
};

[[noreturn]] void zip_failure(const std::string& what, zip_error_t* e) {
    const std::string msg = zip_error_strerror(e);
    zip_error_fini(e);
    throw std::runtime_error("xlsx: libzip " + what + ": " + msg);
}

}  // namespace

std::string column_name(index_t col) {
    if (col < 1 || col > kMaxCols)
        throw config_error("xlsx column " + std::to_string(col) + " must be in [1, " + std::to_string(kMaxCols) + "]");
    std::string s;
    for (index_t c = col; c > 0; c = (c - 1) / 26) s.insert(s.begin(), static_cast<char>('A' + (c - 1) % 26));
    return s;
}

void Sheet::put(index_t row, index_t col, Cell cell) {
    if (row < 1 || row > kMaxRows || col < 1 || col > kMaxCols)
        throw config_error("xlsx cell (" + std::to_string(row) + ", " + std::to_string(col) + ") of sheet " + name_ +
                           " is outside rows 1.." + std::to_string(kMaxRows) + " and columns 1.." + std::to_string(kMaxCols));
    cells_[{row, col}] = std::move(cell);
}

void Sheet::number(index_t row, index_t col, double value, Style style) {
    if (!std::isfinite(value))
        throw config_error("xlsx cell " + column_name(col) + std::to_string(row) + " of sheet " + name_ +
                           ": the value " + number_text(value) + " is not finite");
    Cell c;
    c.kind = Cell::Kind::number;
    c.number = value;
    c.style = style;
    put(row, col, std::move(c));
}

void Sheet::text(index_t row, index_t col, std::string value, Style style) {
    Cell c;
    c.kind = Cell::Kind::text;
    c.text = std::move(value);
    c.style = style;
    put(row, col, std::move(c));
}

void Sheet::formula(index_t row, index_t col, std::string value, Style style) {
    if (value.size() + 1 > kMaxFormula)
        throw config_error("xlsx cell " + column_name(col) + std::to_string(row) + " of sheet " + name_ + ": a formula of " +
                           std::to_string(value.size() + 1) + " characters is longer than a spreadsheet's " +
                           std::to_string(kMaxFormula));
    Cell c;
    c.kind = Cell::Kind::formula;
    c.text = std::move(value);
    c.style = style;
    put(row, col, std::move(c));
}

Sheet& Workbook::add_sheet(const std::string& name) {
    if (name.empty() || name.size() > 31 || name.find_first_of(":\\/?*[]") != std::string::npos)
        throw config_error("xlsx sheet name \"" + name + "\" must have 1 to 31 characters, none of : \\ / ? * [ ]");
    for (const auto& s : sheets_)
        if (s.name() == name) throw config_error("xlsx sheet name \"" + name + "\" is already taken");
    sheets_.push_back(Sheet(name));
    return sheets_.back();
}

std::string Workbook::bytes() const {
    if (sheets_.empty()) throw config_error("xlsx: a workbook needs at least one sheet");
    // The parts, in archive order.
    std::vector<std::pair<std::string, std::string>> parts;
    std::ostringstream types, rels, book, book_rels;
    types << "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
             "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
             "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
             "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
             "<Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>"
             "<Override PartName=\"/xl/styles.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml\"/>";
    book << "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
            "<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
            "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"><sheets>";
    book_rels << "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
                 "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">";
    for (std::size_t i = 0; i < sheets_.size(); ++i) {
        const std::string n = std::to_string(i + 1);
        types << "<Override PartName=\"/xl/worksheets/sheet" << n
              << ".xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>";
        book << "<sheet name=\"" << escape(sheets_[i].name()) << "\" sheetId=\"" << n << "\" r:id=\"rId" << n << "\"/>";
        book_rels << "<Relationship Id=\"rId" << n
                  << "\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" "
                     "Target=\"worksheets/sheet"
                  << n << ".xml\"/>";
    }
    const std::string style_id = std::to_string(sheets_.size() + 1);
    book_rels << "<Relationship Id=\"rId" << style_id
              << "\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" Target=\"styles.xml\"/>"
                 "</Relationships>\n";
    book << "</sheets><calcPr calcId=\"191029\" fullCalcOnLoad=\"1\"/></workbook>\n";
    types << "</Types>\n";
    rels << "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
            "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
            "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" "
            "Target=\"xl/workbook.xml\"/></Relationships>\n";
    parts.emplace_back("[Content_Types].xml", types.str());
    parts.emplace_back("_rels/.rels", rels.str());
    parts.emplace_back("xl/workbook.xml", book.str());
    parts.emplace_back("xl/_rels/workbook.xml.rels", book_rels.str());
    parts.emplace_back("xl/styles.xml", kStyles);
    for (std::size_t i = 0; i < sheets_.size(); ++i) {
        std::ostringstream x;
        x << "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
             "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>";
        index_t row = 0;
        for (const auto& [at, cell] : sheets_[i].cells_) {
            if (at.first != row) {
                if (row) x << "</row>";
                row = at.first;
                x << "<row r=\"" << row << "\">";
            }
            x << "<c r=\"" << column_name(at.second) << at.first << "\"";
            if (cell.style != Style::plain) x << " s=\"" << style_index(cell.style) << "\"";
            switch (cell.kind) {
                case Sheet::Cell::Kind::number: x << "><v>" << number_text(cell.number) << "</v></c>"; break;
                case Sheet::Cell::Kind::text:
                    x << " t=\"inlineStr\"><is><t xml:space=\"preserve\">" << escape(cell.text) << "</t></is></c>";
                    break;
                case Sheet::Cell::Kind::formula: x << "><f>" << escape(cell.text) << "</f></c>"; break;
            }
        }
        if (row) x << "</row>";
        x << "</sheetData></worksheet>\n";
        parts.emplace_back("xl/worksheets/sheet" + std::to_string(i + 1) + ".xml", x.str());
    }

    // Zip them in memory: a buffer source the archive is written into, read back after zip_close.
    zip_error_t err;
    zip_error_init(&err);
    std::unique_ptr<zip_source_t, SourceFree> buffer(zip_source_buffer_create(nullptr, 0, 0, &err));
    if (!buffer) zip_failure("buffer", &err);
    zip_source_keep(buffer.get());
    zip_t* z = zip_open_from_source(buffer.get(), ZIP_TRUNCATE, &err);
    if (!z) zip_failure("open", &err);
    for (const auto& [name, data] : parts) {
        zip_source_t* s = zip_source_buffer(z, data.data(), data.size(), 0);
        zip_int64_t idx = s ? zip_file_add(z, name.c_str(), s, ZIP_FL_ENC_UTF_8) : -1;
        if (idx < 0) {
            if (s) zip_source_free(s);
            const std::string msg = zip_strerror(z);
            zip_discard(z);
            throw std::runtime_error("xlsx: libzip cannot add " + name + ": " + msg);
        }
        // A fixed time (2000-01-01) and deflate: the same workbook gives the same bytes.
        if (zip_file_set_mtime(z, static_cast<zip_uint64_t>(idx), 946684800, 0) < 0 ||
            zip_set_file_compression(z, static_cast<zip_uint64_t>(idx), ZIP_CM_DEFLATE, 6) < 0) {
            const std::string msg = zip_strerror(z);
            zip_discard(z);
            throw std::runtime_error("xlsx: libzip cannot set the time or compression of " + name + ": " + msg);
        }
    }
    if (zip_close(z) < 0) {
        const std::string msg = zip_strerror(z);
        zip_discard(z);
        throw std::runtime_error("xlsx: libzip cannot write the archive: " + msg);
    }
    zip_source_t* src = buffer.get();
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_source_stat(src, &st) < 0 || !(st.valid & ZIP_STAT_SIZE) || zip_source_open(src) < 0)
        throw std::runtime_error(std::string("xlsx: libzip cannot read the archive back: ") +
                                 zip_error_strerror(zip_source_error(src)));
    std::string out(static_cast<std::size_t>(st.size), '\0');
    const zip_int64_t got = zip_source_read(src, out.data(), st.size);
    zip_source_close(src);
    if (got != static_cast<zip_int64_t>(st.size)) throw std::runtime_error("xlsx: libzip read back a short archive");
    zip_error_fini(&err);
    return out;
}

void Workbook::save(const std::string& path) const { write_file_atomic(path, bytes()); }

}  // namespace convmtx::xlsx
