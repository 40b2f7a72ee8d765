// convmtx inspect: statistics of W (or T, or a matrix file) and the entry-by-entry
// check of the (block-)Toeplitz structure its configuration implies.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "convmtx/inspect.hpp"
#include "format.hpp"
#include "inspect_common.hpp"

namespace convmtx::cli {

namespace {

std::string with_commas(std::uint64_t v) {
    std::string s = std::to_string(v);
    for (int p = static_cast<int>(s.size()) - 3; p > 0; p -= 3) s.insert(static_cast<size_t>(p), ",");
    return s;
}

std::string num(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

bool all_float_values(const CsrMatrix& M) {
    for (index_t k = 0; k < M.nonZeros(); ++k) {
        const double v = M.valuePtr()[k];
        if (static_cast<double>(static_cast<float>(v)) != v) return false;
    }
    return true;
}

struct InspectFlags {
    SubjectFlags subject;
    bool dense = false, no_dense = false, json = false;
    std::optional<double> rtol;
};

void run_inspect(const InspectFlags& f) {
    const Subject s = load_subject(f.subject);
    const bool big = s.M.nonZeros() > 1000000;
    if (big) progress("statistics of " + std::to_string(s.M.nonZeros()) + " entries ...");
    const MatrixStats st = matrix_stats(s.M);
    const double rtol = f.rtol ? *f.rtol : all_float_values(s.M) && s.from_file ? 1e-6 : 0.0;
    std::optional<StructureReport> rep;
    const bool weights_known = s.problem && (!s.from_file || s.problem->weights_given);
    if (s.problem && big) progress("checking the structure entry by entry ...");
    if (s.problem)
        rep = check_structure(s.problem->spec, s.M, s.transpose, weights_known ? span<const double>(s.problem->weight) : span<const double>(), rtol);
    const bool ok = !rep || (rep->ok && (!rep->weights_checked || rep->weights_ok));
    if (big) progress("");

    if (f.json) {
        nlohmann::json j;
        j["matrix"] = s.name();
        j["source"] = s.from_file ? s.file : std::string("configuration");
        j["rows"] = st.rows;
        j["cols"] = st.cols;
        j["nnz"] = st.nnz;
        j["density"] = st.density;
        j["row_min"] = st.row_min;
        j["row_mean"] = st.row_mean;
        j["row_max"] = st.row_max;
        j["empty_rows"] = st.empty_rows;
        j["lower_bandwidth"] = st.lower_bandwidth;
        j["upper_bandwidth"] = st.upper_bandwidth;
        j["csr_bytes_int32"] = st.csr_bytes_int32;
        j["csr_bytes_int64"] = st.csr_bytes_int64;
        j["distinct_values"] = st.distinct_values;
        j["explicit_zeros"] = st.explicit_zeros;
        if (s.problem) {
            j["configuration"] = s.problem->spec.describe();
            j["weights"] = s.problem->weight_source;
            j["weight_count"] = s.problem->spec.weight_numel();
            j["structure_ok"] = rep->ok;
            j["structure_determined"] = rep->determined;
            j["structure"] = rep->description;
            j["violation"] = rep->violation;
            j["violation_row"] = rep->violation_row;
            j["violation_col"] = rep->violation_col;
            j["checked_entries"] = rep->checked_entries;
            j["weights_checked"] = rep->weights_checked;
            j["weights_ok"] = rep->weights_ok;
            j["weight_violation"] = rep->weight_violation;
            j["weight_violation_row"] = rep->weight_violation_row;
            j["weight_violation_col"] = rep->weight_violation_col;
        }
        j["ok"] = ok;
        std::cout << j.dump(2) << "\n";
        if (!ok) checks_failed();
        return;
    }

    std::ostringstream os;
    const std::string name = s.name();
    if (s.problem) os << s.problem->spec.describe() << "\n";
    if (s.from_file) os << "matrix file: " << s.file << "\n";
    if (s.problem)
        os << "matrix:        " << name
           << (s.transpose ? " = W^T (rows = transposed-conv outputs, columns = its inputs)"
                           : " (rows = conv outputs, columns = conv inputs)")
           << ", weights " << s.problem->weight_source << (s.from_file && !weights_known ? " (not compared: no --weights)" : "")
           << "\n";
    os << "shape:         " << st.rows << " x " << st.cols << "\n"
       << "stored:        " << st.nnz << " entries, density " << num(st.density);
    if (st.explicit_zeros)
        os << " (" << st.explicit_zeros << " stored zero" << (st.explicit_zeros == 1 ? "" : "s")
           << (s.problem ? ": zero weights stay structural entries" : "") << ")";
    os << "\nper row:       min " << st.row_min << ", mean " << num(st.row_mean) << ", max " << st.row_max;
    if (st.empty_rows) os << " (" << st.empty_rows << " empty rows)";
    os << "\nbandwidth:     lower " << st.lower_bandwidth << ", upper " << st.upper_bandwidth
       << "  (entries lie in r - " << st.lower_bandwidth << " <= c <= r + " << st.upper_bandwidth << ")\n"
       << "CSR bytes:     " << with_commas(st.csr_bytes_int32) << " (int32 indices), " << with_commas(st.csr_bytes_int64)
       << " (int64), double values\n"
       << "distinct:      " << st.distinct_values << " distinct stored value(s)";
    if (s.problem) {
        const ConvGeometry g(s.problem->spec);
        os << "; the weight has " << s.problem->spec.weight_numel() << " = " << g.conv_out_channels() << " x "
           << g.in_per_group() << " channels x " << g.kernel_volume() << " taps";
    }
    os << "\n";
    if (rep) {
        os << "structure:     "
           << (rep->ok ? (rep->determined ? "OK, verified entry by entry (compared " : "no violation found, but some tap values could not be inferred (compared ")
                       : "FAILED (after comparing ")
           << rep->checked_entries << " entries)\n";
        std::istringstream desc(rep->description);
        for (std::string line; std::getline(desc, line);) os << "  " << line << "\n";
        if (!rep->ok) os << "  first violation: " << rep->violation << "\n";
        if (rep->weights_checked)
            os << "weights:       "
               << (rep->weights_ok ? "OK, equal entry by entry to the matrix of the weights (" + s.problem->weight_source + ")"
                                   : "MISMATCH with the weights (" + s.problem->weight_source + "): " + rep->weight_violation)
               << "\n";
    } else {
        os << "structure:     not checked: the structure check needs the configuration flags (--input, --kernel, ...)\n";
    }
    const bool small = st.rows <= 24 && st.cols <= 40;
    const bool dense = !f.no_dense && (small || (f.dense && st.rows <= 200 && st.cols <= 200));
    if (dense) os << name << " =\n" << format_matrix(Eigen::MatrixXd(s.M));
    else if (!f.no_dense && f.dense)
        os << "(not printed densely: " << st.rows << " x " << st.cols << " is larger than 200 x 200)\n";
    std::cout << os.str();
    if (!ok) checks_failed();
}

}  // namespace

void setup_inspect(CLI::App& app) {
    CLI::App* cmd = add_command(
        app, "inspect", "shape, stored entries, bandwidth, CSR size and the entry-by-entry (block-)Toeplitz check of W",
        "Reports shape, stored entries, density, entries per row, bandwidth, CSR size and distinct values of W (or T, "
        "or a .mtx/.npz file), and verifies entry by entry that it has the (block-)Toeplitz structure the "
        "configuration implies (and, with the weights known, equals the configuration's matrix). Small matrices are "
        "printed densely. Exit status 1 when a check fails.\n"
        "  convmtx inspect --input 1x3x3 --kernel 2x2 --weights arange\n"
        "  convmtx inspect --matrix W.mtx --input 1x4x4 --kernel 3x3 --stride 2 --padding 1 --weights arange");
    auto f = std::make_shared<InspectFlags>();
    auto* dense = cmd->add_flag("--dense", f->dense, "print the matrix densely even when it is large (up to 200 x 200)");
    cmd->add_flag("--no-dense", f->no_dense, "never print the matrix densely")->excludes(dense);
    cmd->add_option("--rtol", f->rtol,
                    "tolerance of the structure check, relative to the largest tap (default 0 = exact; 1e-6 when "
                    "every value of a matrix file is a float32)")
        ->option_text("R")
        ->check(number_in(0.0));
    cmd->add_flag("--json", f->json, "print the report as JSON");
    f->subject.add_to(*cmd, true);
    cmd->callback([f] { run_inspect(*f); });
}

}  // namespace convmtx::cli
