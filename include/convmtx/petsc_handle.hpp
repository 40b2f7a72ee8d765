// PETSc objects owned by C++ scope, and PETSc error codes as C++ exceptions: every function of
// convmtx's PETSc component (convmtx::petsc) throws petsc_error instead of returning a code.
#pragma once

#include <petscksp.h>

#include <stdexcept>
#include <string>

namespace convmtx::petsc {

/// A PETSc call that returned an error code; the message names the call and PETSc's text.
class petsc_error : public std::runtime_error {
public:
    petsc_error(const std::string& message, PetscErrorCode error_code) : std::runtime_error(message), code(error_code) {}
    PetscErrorCode code;
};

/// Throws petsc_error "<what>: PETSc error <code> (<PETSc's message>)" when code is not 0.
void check(PetscErrorCode code, const char* what);

/// Sole owner of a PETSc object (Mat, Vec, KSP, IS, ...), destroyed with `Destroy` at scope exit.
template <class T, PetscErrorCode (*Destroy)(T*)>
class Handle {
public:
    Handle() = default;
    explicit Handle(T object) : object_(object) {}
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    Handle(Handle&& other) noexcept : object_(other.release()) {}
    Handle& operator=(Handle&& other) noexcept {
        if (this != &other) {
            reset();
            object_ = other.release();
        }
        return *this;
    }
    ~Handle() { reset(); }

    T get() const { return object_; }
    operator T() const { return object_; }
    /// For PETSc's creation functions: destroys the held object and hands out the slot.
    T* out() {
        reset();
        return &object_;
    }
    T release() {
        T o = object_;
        object_ = nullptr;
        return o;
    }
    void reset() {
        if (object_) Destroy(&object_);
        object_ = nullptr;
    }

private:
    T object_ = nullptr;
};

using OwnedMat = Handle<Mat, MatDestroy>;
using OwnedVec = Handle<Vec, VecDestroy>;
using OwnedKSP = Handle<KSP, KSPDestroy>;

}  // namespace convmtx::petsc
