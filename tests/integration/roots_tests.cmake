# Where glibc's heap is, or why there is none: a fragmented main arena,
# static programs, other allocators (tests/integration/roots_test.py).
# Included by CMakeLists.txt here.
set(_roots_dir ${PROJECT_BINARY_DIR}/tests/programs)
set(_roots_src ${CMAKE_CURRENT_LIST_DIR}/programs/other_malloc.c)
add_executable(other_malloc ${_roots_src})
target_compile_options(other_malloc PRIVATE -O0 -g)
set_target_properties(other_malloc PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${_roots_dir})
set(_roots_programs other_malloc)
# jemalloc linked (not preloaded): it comes before libc and replaces malloc.
find_library(HEAPSCOPE_JEMALLOC NAMES jemalloc)
if(HEAPSCOPE_JEMALLOC)
  add_executable(other_malloc_jemalloc ${_roots_src})
  target_link_libraries(other_malloc_jemalloc PRIVATE ${HEAPSCOPE_JEMALLOC})
  set_target_properties(other_malloc_jemalloc PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${_roots_dir})
  list(APPEND _roots_programs other_malloc_jemalloc)
endif()
if(HEAPSCOPE_SANITIZE)
  foreach(name ${_roots_programs})
    target_compile_options(${name} PRIVATE -fno-sanitize=all)
    target_link_options(${name} PRIVATE -fno-sanitize=all)
  endforeach()
endif()
# musl programs (musl-tools): dynamic, static, static and stripped.
find_program(HEAPSCOPE_MUSL_GCC musl-gcc)
if(HEAPSCOPE_MUSL_GCC)
  set(_musl_outputs)
  foreach(variant "musl;" "musl_static;-static" "musl_static_stripped;-static;-s")
    list(POP_FRONT variant suffix)
    set(out ${_roots_dir}/other_malloc_${suffix})
    add_custom_command(OUTPUT ${out}
      COMMAND ${HEAPSCOPE_MUSL_GCC} -O0 ${variant} -o ${out} ${_roots_src}
      DEPENDS ${_roots_src} VERBATIM)
    list(APPEND _musl_outputs ${out})
  endforeach()
  add_custom_target(other_malloc_musl ALL DEPENDS ${_musl_outputs})
endif()

foreach(_case BinsTest StaticTest StaticStrippedTest OtherMallocTest)
  heapscope_integration_test(roots.${_case} roots_test.${_case})
  set_property(TEST integration.roots.${_case} APPEND PROPERTY ENVIRONMENT
    "HEAPSCOPE_ROOTS_PROGRAMS=${_roots_dir}"
    "HEAPSCOPE_LLDB_PLUGIN=${PROJECT_BINARY_DIR}/lib/heapscope/libheapscope-lldb.so")
  set_property(TEST integration.roots.${_case} APPEND PROPERTY LABELS gdb lldb)
endforeach()
