# The layers of ../shared/DESIGN.md as build targets. Each layer compiles against an include tree
# that holds only its own headers and those of the layers below it, so an include that runs up a
# layer ("ember/io/..." from nn/) fails to build. The trees are folders of symbolic links in the
# build tree: <build>/ember-layers/<layer>/ember/<folder>/<file>.h -> the source file.
#
#   core <- nn, optim, io, data <- io/interop <- io/onnx (which needs nn too)
#   nn, optim, data, io/interop <- train (a whole training run's checkpoint)
#
# Every header is in its layer's tree, so the library builds against it. The public tree that users
# compile against, and that `cmake --install` copies, holds exactly the headers that ember.h (the
# umbrella header) includes: a header is private unless ember.h names it.

set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/ember.h)
file(STRINGS ${PROJECT_SOURCE_DIR}/ember.h EMBER_UMBRELLA_LINES REGEX "^#include \"ember/")
set(EMBER_PUBLIC_HEADERS)
foreach(line ${EMBER_UMBRELLA_LINES})
  string(REGEX REPLACE "^#include \"ember/([^\"]+)\".*" "\\1" h "${line}")
  if(NOT EXISTS ${PROJECT_SOURCE_DIR}/${h})
    message(FATAL_ERROR "ember.h includes ember/${h}, but there is no ${h}")
  endif()
  list(APPEND EMBER_PUBLIC_HEADERS ${h})
endforeach()

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
  set(EMBER_LAYERS ${EMBER_LAYERS} ${name} PARENT_SCOPE)

  add_library(ember_${name} OBJECT ${sources})
  target_include_directories(ember_${name} PUBLIC $<BUILD_INTERFACE:${EMBER_LAYER_ROOT}/${name}>)
  foreach(dep ${L_DEPS})
    target_link_libraries(ember_${name} PUBLIC ember_${dep})
  endforeach()
  target_compile_options(ember_${name} PRIVATE ${EMBER_WARNINGS} ${EMBER_TUNING})
  set_target_properties(ember_${name} PROPERTIES POSITION_INDEPENDENT_CODE ${EMBER_PIC} CXX_EXTENSIONS OFF)
endfunction()
