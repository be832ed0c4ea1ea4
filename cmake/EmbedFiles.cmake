# ecoact_embed_files(TARGET <lib> NAMESPACE <ns> FILES <f1> <f2> ...)
#
# Builds a static library that exposes each file's bytes as
#   namespace <ns> { extern const char k<CamelName>[]; }
# declared in the generated header <lib>.h. Lua scripts and the default
# catalogue are embedded this way so binaries never look for data files at
# run time. The copy happens at build time: editing a file rebuilds the
# library.
function(ecoact_embed_files)
  cmake_parse_arguments(ARG "" "TARGET;NAMESPACE" "FILES" ${ARGN})
  set(out_dir "${CMAKE_CURRENT_BINARY_DIR}/embedded")
  set(header "${out_dir}/${ARG_TARGET}.h")
  set(source "${out_dir}/${ARG_TARGET}.cc")
  set(abs_files "")
  foreach(f IN LISTS ARG_FILES)
    get_filename_component(abs "${f}" ABSOLUTE)
    list(APPEND abs_files "${abs}")
  endforeach()
  # ';' would split the shell command: pass the list with '|' instead.
  string(REPLACE ";" "|" files_arg "${abs_files}")
  add_custom_command(
    OUTPUT "${header}" "${source}"
    COMMAND ${CMAKE_COMMAND}
      -DHEADER=${header} -DSOURCE=${source} -DNAMESPACE=${ARG_NAMESPACE}
      "-DFILES=${files_arg}"
      -P "${PROJECT_SOURCE_DIR}/cmake/EmbedFilesScript.cmake"
    DEPENDS ${abs_files} "${PROJECT_SOURCE_DIR}/cmake/EmbedFilesScript.cmake"
    COMMENT "Embedding ${ARG_TARGET}"
    VERBATIM)
  add_library(${ARG_TARGET} STATIC "${source}" "${header}")
  target_include_directories(${ARG_TARGET} PUBLIC "${out_dir}")
endfunction()
