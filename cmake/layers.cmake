# The layers of ../shared/DESIGN.md as build targets. Each layer compiles against an include tree
# that holds only its own headers and those of the layers below it, so an include that runs up a
# layer ("ember/io/..." from nn/) fails to build. The trees are folders of symbolic links in the
# build tree: <build>/ember-layers/<layer>/ember/<folder>/<file>.h -> the source file.
#
#   core <- nn, optim, io, data <- io/interop <- io/onnx (which needs nn too)
#   nn, optim, data, io/interop <- train (a whole training run's checkpoint)
#
# Headers listed in EMBER_PRIVATE_HEADERS (the kernel interface, the CPU kernels, the file
# formats' internals) are in the layer trees, so the library builds against them, but not in the
# public tree that users compile against and that `cmake --install` copies.

set(EMBER_PRIVATE_HEADERS
  core/backend.h core/cuda_module.h core/trace.h core/cpu/cpu_backend.h core/ops/common.h
  optim/update.h io/crc32.h io/format_detail.h io/text.h io/interop/pickle_detail.h io/onnx/graph.h)

set(EMBER_LAYER_ROOT ${PROJECT_BINARY_DIR}/ember-layers)
file(REMOVE_RECURSE ${EMBER_LAYER_ROOT})

# Links each header (a path relative to the source root) into <tree>/ember/<path>.
function(ember_link_headers tree)
  foreach(h ${ARGN})
    get_filename_component(dir ${tree}/ember/${h} DIRECTORY)
    file(MAKE_DIRECTORY ${dir})
    file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${h} ${tree}/ember/${h} SYMBOLIC)
  endforeach()
endfunction()

# ember_layer(<name> FOLDERS <folder>... [DEPS <layer>...])
# An OBJECT library ember_<name> of the .cpp files directly in FOLDERS (and their sub-folders
# that are not layers of their own), compiled against the trees of itself and its DEPS.
set(EMBER_LAYERS)
set(EMBER_PUBLIC_HEADERS)
function(ember_layer name)
  cmake_parse_arguments(L "" "" "FOLDERS;DEPS;EXCLUDE" ${ARGN})
  set(headers)
  set(sources)
  foreach(folder ${L_FOLDERS})
    file(GLOB h RELATIVE ${PROJECT_SOURCE_DIR} CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${folder}/*.h)
    file(GLOB s CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${folder}/*.cpp)
    list(APPEND headers ${h})
    list(APPEND sources ${s})
  endforeach()
  ember_link_headers(${EMBER_LAYER_ROOT}/${name} ${headers})
  set(public ${headers})
  list(REMOVE_ITEM public ${EMBER_PRIVATE_HEADERS})
  set(EMBER_PUBLIC_HEADERS ${EMBER_PUBLIC_HEADERS} ${public} PARENT_SCOPE)
  set(EMBER_LAYERS ${EMBER_LAYERS} ${name} PARENT_SCOPE)

  add_library(ember_${name} OBJECT ${sources})
  target_include_directories(ember_${name} PUBLIC $<BUILD_INTERFACE:${EMBER_LAYER_ROOT}/${name}>)
  foreach(dep ${L_DEPS})
    target_link_libraries(ember_${name} PUBLIC ember_${dep})
  endforeach()
  target_compile_options(ember_${name} PRIVATE ${EMBER_WARNINGS} ${EMBER_TUNING})
  set_target_properties(ember_${name} PROPERTIES POSITION_INDEPENDENT_CODE ${EMBER_PIC} CXX_EXTENSIONS OFF)
endfunction()
