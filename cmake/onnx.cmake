# EMBER_ONNX = AUTO | ON | OFF. Sets EMBER_WITH_ONNX and says what it decided in one line.
# ONNX export (io/onnx) and reading ONNX weights (io/interop/onnx_reader.cpp) are built on Debian's
# libonnx-dev (its CMake package names the targets onnx and onnx_proto): its protobuf classes and onnx::checker. Without it both are still declared and say
# by name that this build has no ONNX support.
set(EMBER_WITH_ONNX OFF)
if(NOT EMBER_ONNX STREQUAL "OFF")
  find_package(Protobuf QUIET)
  if(Protobuf_FOUND)
    find_package(ONNX QUIET)
  endif()
  if(Protobuf_FOUND AND ONNX_FOUND AND TARGET onnx AND TARGET onnx_proto)
    set(EMBER_WITH_ONNX ON)
  elseif(EMBER_ONNX STREQUAL "ON")
    message(FATAL_ERROR "EMBER_ONNX=ON but ONNX's CMake package or protobuf was not found (apt-get install libonnx-dev)")
  endif()
endif()

if(EMBER_WITH_ONNX)
  foreach(layer interop onnx)
    target_compile_definitions(ember_${layer} PRIVATE EMBER_WITH_ONNX=1)
    target_link_libraries(ember_${layer} PRIVATE onnx onnx_proto protobuf::libprotobuf)
  endforeach()
  target_compile_definitions(ember_onnx PRIVATE EMBER_VERSION="${PROJECT_VERSION}")
  target_link_libraries(ember PRIVATE onnx onnx_proto protobuf::libprotobuf)
  message(STATUS "Ember: ONNX ON (libonnx ${ONNX_VERSION}, protobuf ${Protobuf_VERSION}): export_model and reading ONNX weights")
else()
  message(STATUS "Ember: ONNX OFF (EMBER_ONNX=${EMBER_ONNX}; needs libonnx-dev): ONNX export and reading are refused with a clear error")
endif()
