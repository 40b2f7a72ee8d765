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
    /// `message` as what(), `error_code` as code.
    petsc_error(const std::string& message, PetscErrorCode error_code) : std::runtime_error(message), code(error_code) {}
    /// The PETSc error code returned by the call.
    PetscErrorCode code;
};

/// Throws petsc_error "<what>: PETSc error <code> (<PETSc's message>)" when code is not 0.
void check(PetscErrorCode code, const char* what);

/// Sole owner of a PETSc object (Mat, Vec, KSP, IS, ...), destroyed with `Destroy` at scope exit.
template <class T, PetscErrorCode (*Destroy)(T*)>
class Handle {
public:
    Handle() = default;
    /// Takes ownership of `object` (may be null).
    explicit Handle(T object) : object_(object) {}
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    /// Takes `other`'s object; `other` is left empty.
    Handle(Handle&& other) noexcept : object_(other.release()) {}
    /// Destroys the held object, then takes `other`'s; `other` is left empty.
    Handle& operator=(Handle&& other) noexcept {
        if (this != &other) {
            reset();
            object_ = other.release();
        }
        return *this;
    }
    ~Handle() { reset(); }

    /// The object (null when empty), still owned.
    T get() const { return object_; }
    /// The object, still owned, so that a Handle passes where PETSc takes the object.
    operator T() const { return object_; }
    /// For PETSc's creation functions: destroys the held object and hands out the slot.
    T* out() {
        reset();
        return &object_;
    }
    /// Gives up ownership: returns the object and leaves the handle empty.
    T release() {
        T o = object_;
        object_ = nullptr;
        return o;
    }
    /// Destroys the held object, if any, and leaves the handle empty; Destroy's error code is ignored.
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
