# EMBER_DNNL = AUTO | ON | OFF. Sets EMBER_WITH_DNNL and says what it decided in one line.
# oneDNN (Debian's libdnnl-dev, PyTorch's own CPU convolution engine) runs float32 conv2d forward
# and both gradients where core/cpu/dnnl_conv.cpp's rule picks it; Ember's own kernels
# (core/cpu/conv.cpp) stay the reference the tests compare against, and the only path without it.
# Found by its header and library: Debian's CMake package for it (dnnl-config.cmake) calls
# find_package(OpenCL REQUIRED) for its GPU runtime, which would fail the whole configure on a
# machine without the OpenCL headers, where Ember needs only the CPU side.
set(EMBER_WITH_DNNL OFF)
if(NOT EMBER_DNNL STREQUAL "OFF")
  find_path(EMBER_DNNL_INCLUDE oneapi/dnnl/dnnl.hpp)
  find_library(EMBER_DNNL_LIBRARY dnnl)
  if(EMBER_DNNL_INCLUDE AND EMBER_DNNL_LIBRARY)
    file(STRINGS ${EMBER_DNNL_INCLUDE}/oneapi/dnnl/dnnl_version.h v REGEX "define DNNL_VERSION_(MAJOR|MINOR|PATCH) ")
    string(REGEX REPLACE "[^0-9;]*#define DNNL_VERSION_[A-Z]+ ([0-9]+)[^;]*" "\\1" v "${v}")
    string(REPLACE ";" "." EMBER_DNNL_VERSION "${v}")
    add_library(ember_dnnl_imported INTERFACE IMPORTED)
    target_include_directories(ember_dnnl_imported INTERFACE ${EMBER_DNNL_INCLUDE})
    target_link_libraries(ember_dnnl_imported INTERFACE ${EMBER_DNNL_LIBRARY})
    set(EMBER_DNNL_LINK ember_dnnl_imported)
  endif()
  if(EMBER_DNNL_LINK)
    set(EMBER_WITH_DNNL ON)
  elseif(EMBER_DNNL STREQUAL "ON")
    message(FATAL_ERROR "EMBER_DNNL=ON but oneDNN was not found (apt-get install libdnnl-dev)")
  endif()
endif()

if(EMBER_WITH_DNNL)
  target_compile_definitions(ember_core PRIVATE EMBER_WITH_DNNL=1)
  target_link_libraries(ember_core PRIVATE ${EMBER_DNNL_LINK})
  # By path, not the imported target: an installed static libember then names the library itself.
  target_link_libraries(ember PRIVATE ${EMBER_DNNL_LIBRARY})
  message(STATUS "Ember: oneDNN ON (libdnnl ${EMBER_DNNL_VERSION}): float32 conv2d where it beats Ember's own kernels")
else()
  if(EMBER_DNNL STREQUAL "OFF")
    set(EMBER_DNNL_WHY "EMBER_DNNL=OFF")
  else()
    set(EMBER_DNNL_WHY "libdnnl-dev not found")
  endif()
  message(STATUS "Ember: oneDNN OFF (${EMBER_DNNL_WHY}): conv2d runs on Ember's own kernels")
endif()
