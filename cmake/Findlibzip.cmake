# Finds libzip and defines the imported target libzip::zip (and libzip_VERSION).
#
# Debian 12's libzip-dev ships a CMake package whose targets file refers to the zipcmp, zipmerge
# and ziptool programs, which live in other packages: find_package(libzip CONFIG) fails unless
# they are installed. This module needs only the library and its headers: it asks pkg-config
# for hints and falls back to the default search paths.
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(PC_LIBZIP QUIET libzip)
endif()
find_path(LIBZIP_INCLUDE_DIR zip.h HINTS ${PC_LIBZIP_INCLUDE_DIRS})
find_path(LIBZIP_ZIPCONF_INCLUDE_DIR zipconf.h HINTS ${PC_LIBZIP_INCLUDE_DIRS} ${LIBZIP_INCLUDE_DIR})
find_library(LIBZIP_LIBRARY NAMES zip libzip HINTS ${PC_LIBZIP_LIBRARY_DIRS})
if(LIBZIP_ZIPCONF_INCLUDE_DIR AND EXISTS "${LIBZIP_ZIPCONF_INCLUDE_DIR}/zipconf.h")
  file(STRINGS "${LIBZIP_ZIPCONF_INCLUDE_DIR}/zipconf.h" _libzip_version_line REGEX "^#define LIBZIP_VERSION \"")
  string(REGEX REPLACE "^#define LIBZIP_VERSION \"([^\"]*)\".*" "\\1" libzip_VERSION "${_libzip_version_line}")
  unset(_libzip_version_line)
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(libzip
  REQUIRED_VARS LIBZIP_LIBRARY LIBZIP_INCLUDE_DIR LIBZIP_ZIPCONF_INCLUDE_DIR
  VERSION_VAR libzip_VERSION)
if(libzip_FOUND AND NOT TARGET libzip::zip)
  add_library(libzip::zip UNKNOWN IMPORTED)
  set_target_properties(libzip::zip PROPERTIES
    IMPORTED_LOCATION "${LIBZIP_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${LIBZIP_INCLUDE_DIR};${LIBZIP_ZIPCONF_INCLUDE_DIR}")
endif()
mark_as_advanced(LIBZIP_INCLUDE_DIR LIBZIP_ZIPCONF_INCLUDE_DIR LIBZIP_LIBRARY)
