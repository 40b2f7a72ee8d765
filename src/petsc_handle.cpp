#include "convmtx/petsc_handle.hpp"

namespace convmtx::petsc {

void check(PetscErrorCode code, const char* what) {
    if (code == 0) return;
    const char* text = nullptr;
    PetscErrorMessage(code, &text, nullptr);
    throw petsc_error(std::string(what) + ": PETSc error " + std::to_string(static_cast<int>(code)) +
                          (text ? std::string(" (") + text + ")" : std::string()),
                      code);
}

}  // namespace convmtx::petsc
