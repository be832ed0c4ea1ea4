# The sanitizer build (-DECOACT_SANITIZE=ON, in its own build directory, e.g.
# build-san; scripts/test.sh makes it): everything compiled by clang with
# AddressSanitizer and UndefinedBehaviorSanitizer, any UB report fatal, plus
# libFuzzer's coverage instrumentation so that the fuzz targets (fuzz/) see
# the product code's branches. Debian's gRPC, protobuf and abseil stay
# uninstrumented: their own bugs are not looked for, but every access our
# code makes to their memory is still checked.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "ECOACT_SANITIZE needs clang (libFuzzer ships with it): "
                      "configure a new build directory with -DCMAKE_CXX_COMPILER=clang++-14")
endif()
add_compile_options(-O1 -g -fno-omit-frame-pointer
  -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined)
add_link_options(-fsanitize=address,undefined)
find_program(ECOACT_LLD NAMES ld.lld-14 ld.lld)
if(ECOACT_LLD)
  add_link_options(-fuse-ld=lld)  # links the instrumented binaries in a fraction of ld's time
endif()

# ecoact_add_fuzzer(NAME SOURCE LIBRARIES...): a libFuzzer binary `NAME` and a
# ctest test `fuzz.NAME` (label fuzz) that runs it for ECOACT_FUZZ_SECONDS
# over its committed corpus fuzz/corpus/NAME (read-only: new inputs go to a
# scratch directory), failing on any crash, leak, UB report or input slower
# than 5 s. Inputs in fuzz/regressions/NAME are replayed first by
# `fuzz.NAME.regressions`.
set(ECOACT_FUZZ_SECONDS 20 CACHE STRING "Seconds each fuzz target runs in ctest")
function(ecoact_add_fuzzer name source)
  add_executable(${name} ${source})
  target_link_libraries(${name} PRIVATE ${ARGN})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  set(corpus "${PROJECT_SOURCE_DIR}/fuzz/corpus/${name}")
  add_test(NAME fuzz.${name}
    COMMAND "${PROJECT_SOURCE_DIR}/fuzz/run.sh" $<TARGET_FILE:${name}> ${ECOACT_FUZZ_SECONDS}
            "${corpus}" "${CMAKE_CURRENT_BINARY_DIR}/${name}.new")
  set_tests_properties(fuzz.${name} PROPERTIES LABELS fuzz TIMEOUT 300)
  set(regressions "${PROJECT_SOURCE_DIR}/fuzz/regressions/${name}")
  if(IS_DIRECTORY "${regressions}")
    add_test(NAME fuzz.${name}.regressions COMMAND ${name} -runs=0 "${regressions}")
    set_tests_properties(fuzz.${name}.regressions PROPERTIES LABELS "fuzz;unit")
  endif()
endfunction()
