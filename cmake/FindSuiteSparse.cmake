# Finds SuiteSparse's SPQR and CHOLMOD (Debian 12's libsuitesparse-dev 5.12 ships no CMake
# package) and defines the imported targets SuiteSparse::SPQR, SuiteSparse::CHOLMOD and
# SuiteSparse::config. Sets SuiteSparse_FOUND and SuiteSparse_INCLUDE_DIR.
include(FindPackageHandleStandardArgs)
find_path(SuiteSparse_INCLUDE_DIR SuiteSparseQR.hpp PATH_SUFFIXES suitesparse)
find_library(SuiteSparse_SPQR_LIBRARY spqr)
find_library(SuiteSparse_CHOLMOD_LIBRARY cholmod)
find_library(SuiteSparse_CONFIG_LIBRARY suitesparseconfig)
find_package_handle_standard_args(SuiteSparse REQUIRED_VARS SuiteSparse_INCLUDE_DIR SuiteSparse_SPQR_LIBRARY
  SuiteSparse_CHOLMOD_LIBRARY SuiteSparse_CONFIG_LIBRARY)
if(SuiteSparse_FOUND AND NOT TARGET SuiteSparse::config)
  add_library(SuiteSparse::config UNKNOWN IMPORTED)
  set_target_properties(SuiteSparse::config PROPERTIES IMPORTED_LOCATION "${SuiteSparse_CONFIG_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${SuiteSparse_INCLUDE_DIR}")
  add_library(SuiteSparse::CHOLMOD UNKNOWN IMPORTED)
  set_target_properties(SuiteSparse::CHOLMOD PROPERTIES IMPORTED_LOCATION "${SuiteSparse_CHOLMOD_LIBRARY}"
    INTERFACE_LINK_LIBRARIES SuiteSparse::config)
  add_library(SuiteSparse::SPQR UNKNOWN IMPORTED)
  set_target_properties(SuiteSparse::SPQR PROPERTIES IMPORTED_LOCATION "${SuiteSparse_SPQR_LIBRARY}"
    INTERFACE_LINK_LIBRARIES "SuiteSparse::CHOLMOD;SuiteSparse::config")
endif()
mark_as_advanced(SuiteSparse_INCLUDE_DIR SuiteSparse_SPQR_LIBRARY SuiteSparse_CHOLMOD_LIBRARY
  SuiteSparse_CONFIG_LIBRARY)
