# EMBER_CUDA = AUTO | ON | OFF. Sets EMBER_WITH_CUDA and says what it decided in one line.
# The CUDA backend is a module (libember_cuda.so) that core/cuda_loader.cpp loads on the first
# request for a cuda device: libember itself never links CUDA, so a program built with it starts
# and runs on the CPU where there is no GPU, driver or CUDA library.
set(EMBER_WITH_CUDA OFF)
if(NOT EMBER_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER AND EXISTS ${PROJECT_SOURCE_DIR}/cuda/CMakeLists.txt)
    set(EMBER_WITH_CUDA ON)
  elseif(EMBER_CUDA STREQUAL "ON")
    message(FATAL_ERROR "EMBER_CUDA=ON but no CUDA compiler (nvcc) or no cuda/ backend was found")
  endif()
endif()

include(GNUInstallDirs)
set(EMBER_LOADER_SOURCE ${PROJECT_SOURCE_DIR}/core/cuda_loader.cpp)
if(EMBER_WITH_CUDA)
  enable_language(CUDA)
  add_subdirectory(cuda)
  # Where the loader looks, after $EMBER_CUDA_MODULE and the folder of the library or program
  # that holds Ember (and its ../lib): the install folder, then this build's.
  set_property(SOURCE ${EMBER_LOADER_SOURCE} TARGET_DIRECTORY ember_core APPEND PROPERTY COMPILE_DEFINITIONS
    EMBER_CUDA_MODULE_BUILT=1
    EMBER_CUDA_MODULE_NAME="$<TARGET_FILE_NAME:ember_cuda>"
    EMBER_CUDA_MODULE_INSTALL_DIR="${CMAKE_INSTALL_FULL_LIBDIR}"
    EMBER_CUDA_MODULE_BUILD_DIR="$<TARGET_FILE_DIR:ember_cuda>")
  message(STATUS "Ember: CUDA backend ON (nvcc ${CMAKE_CUDA_COMPILER_VERSION}), built as a module loaded on the first cuda request")
else()
  message(STATUS "Ember: CUDA backend OFF (EMBER_CUDA=${EMBER_CUDA}); cuda devices are refused with a clear error")
endif()
