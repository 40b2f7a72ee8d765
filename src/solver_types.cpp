// Names and messages of the solver vocabulary: regularizers, lambda rules, istop reasons.
#include "convmtx/solver_types.hpp"

#include <sstream>

#include "convmtx/errors.hpp"

namespace convmtx {

std::string to_string(Regularizer r) { return r == Regularizer::tikhonov ? "tikhonov" : "gradient"; }

std::string to_string(LambdaRule r) {
    switch (r) {
        case LambdaRule::automatic: return "auto";
        case LambdaRule::discrepancy: return "discrepancy";
        case LambdaRule::gcv: return "gcv";
        case LambdaRule::lcurve: return "lcurve";
    }
    return "?";
}

Regularizer parse_regularizer(const std::string& name) {
    if (name == "tikhonov") return Regularizer::tikhonov;
    if (name == "gradient") return Regularizer::gradient;
    throw config_error("regularizer='" + name + "' must be 'tikhonov' or 'gradient'");
}

LambdaRule parse_lambda_rule(const std::string& name) {
    if (name == "auto" || name == "automatic") return LambdaRule::automatic;
    if (name == "discrepancy") return LambdaRule::discrepancy;
    if (name == "gcv") return LambdaRule::gcv;
    if (name == "lcurve" || name == "l-curve") return LambdaRule::lcurve;
    throw config_error("lambda rule='" + name + "' must be 'auto', 'discrepancy', 'gcv' or 'lcurve'");
}

std::string LambdaChoice::str() const {
    std::ostringstream os;
    os.precision(4);
    os << "lambda=" << lambda << " (" << to_string(regularizer) << ", " << to_string(rule);
    if (rule == LambdaRule::discrepancy) os << ": target ||Ax-b|| = " << target;
    if (!note.empty()) os << "; " << note;
    os << ")";
    return os.str();
}

std::string lsqr_reason(int istop) {
    static const char* const msg[] = {
        "The exact solution is  x = 0",
        "Ax - b is small enough, given atol, btol",
        "The least-squares solution is good enough, given atol",
        "The estimate of cond(Abar) has exceeded conlim",
        "Ax - b is small enough for this machine",
        "The least-squares solution is good enough for this machine",
        "Cond(Abar) seems to be too large for this machine",
        "The iteration limit has been reached",
        "Stopped by the callback",
        "The operator returned a non-finite value",
    };
    if (istop < 0 || istop > istop_nonfinite) return "unknown istop " + std::to_string(istop);
    return msg[istop];
}

template <class Scalar>
std::string SolveResult<Scalar>::reason() const {
    if (istop == istop_nonfinite) return lsqr_reason(istop) + " at iteration " + std::to_string(iterations + 1);
    return lsqr_reason(istop);
}

template struct SolveResult<float>;
template struct SolveResult<double>;

}  // namespace convmtx
