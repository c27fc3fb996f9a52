# Files a target names (NT_FILE, the dynamic linker's list, /proc/PID/maps)
# and cores from another machine (--sysroot, --debug-dir, debuginfod),
# include()d by tests/integration/CMakeLists.txt. Label: symbols.
#   ctest -L symbols --output-on-failure
add_executable(mapped_files ${CMAKE_CURRENT_LIST_DIR}/programs/mapped_files.c)
target_compile_options(mapped_files PRIVATE -g -O1)
if(HEAPSCOPE_SANITIZE)
  target_compile_options(mapped_files PRIVATE -fno-sanitize=all)
  target_link_options(mapped_files PRIVATE -fno-sanitize=all)
endif()
target_link_libraries(mapped_files PRIVATE ${CMAKE_DL_LIBS})

foreach(_case HostileFiles ForeignCore Debuginfod)
  add_test(NAME integration.symbols.${_case}
    COMMAND ${Python3_EXECUTABLE} -m unittest -v foreign_files_test.${_case}
    WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
  set_tests_properties(integration.symbols.${_case} PROPERTIES
    LABELS "integration;symbols" TIMEOUT 300 SKIP_REGULAR_EXPRESSION "SKIPPED-FOREIGN-GLIBC"
    ENVIRONMENT "${HEAPSCOPE_IT_ENV};HEAPSCOPE_MAPPED_FILES=$<TARGET_FILE:mapped_files>")
endforeach()
