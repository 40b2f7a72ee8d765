// Internal: an owning cholmod_common for the long-index (cholmod_l_*) interface, printing off so
// that errors reach the caller as exceptions. Needs SuiteSparse (the suitesparse component's
// sources only); not part of the public API.
#pragma once

#include <cholmod.h>

namespace convmtx::detail {

/// cholmod_l_start on construction, cholmod_l_finish on destruction; not copyable.
struct CholmodCommon {
    cholmod_common c;
    CholmodCommon() {
        cholmod_l_start(&c);
        c.print = 0;
    }
    ~CholmodCommon() { cholmod_l_finish(&c); }
    CholmodCommon(const CholmodCommon&) = delete;
    CholmodCommon& operator=(const CholmodCommon&) = delete;
};

}  // namespace convmtx::detail
