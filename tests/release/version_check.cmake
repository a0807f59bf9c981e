# cmake -DPROGRAM=path -DEXPECTED="till-x 1.2.3" -P version_check.cmake
# Passes when `PROGRAM --version` exits 0, prints exactly EXPECTED and a newline on stdout, and
# nothing on stderr.
execute_process(COMMAND "${PROGRAM}" --version
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 60)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} --version exited with ${rc}; stderr: ${err}")
endif()
if(NOT out STREQUAL "${EXPECTED}\n")
  message(FATAL_ERROR "${PROGRAM} --version printed '${out}', expected '${EXPECTED}' and a newline")
endif()
if(NOT err STREQUAL "")
  message(FATAL_ERROR "${PROGRAM} --version wrote to stderr: ${err}")
endif()
message(STATUS "ok: ${out}")
