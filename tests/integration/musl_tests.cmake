# musl mallocng model tests (examples/musl_threads.c built with musl-gcc:
# static, static and stripped, dynamic). Included by CMakeLists.txt here.
# Labels: integration, musl. Without musl-gcc they are not registered.
if(NOT HEAPSCOPE_MUSL_GCC)
  message(STATUS "heapscope: no musl-gcc (musl-tools), musl tests disabled")
  return()
endif()
foreach(class StaticTest StrippedTest DynamicTest FrontEndsTest LiveTest LeaksBasicTest LeaksBasicDynamicTest)
  heapscope_integration_test(musl.${class} musl_test.Musl${class} TIMEOUT 120)
  set_property(TEST integration.musl.${class} APPEND PROPERTY LABELS musl)
  set_property(TEST integration.musl.${class} APPEND PROPERTY ENVIRONMENT
    "HEAPSCOPE_LLDB_PLUGIN=${PROJECT_BINARY_DIR}/lib/heapscope/libheapscope-lldb.so")
endforeach()
