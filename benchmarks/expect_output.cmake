# ctest helper: runs PROGRAM with one ARGUMENT and fails unless it exits 0 and its output (stdout and
# stderr together) matches the regular expression EXPECT.
#   cmake -DPROGRAM=<path> -DARGUMENT=<argument> -DEXPECT=<regex> -P expect_output.cmake
execute_process(COMMAND ${PROGRAM} ${ARGUMENT} OUTPUT_VARIABLE output ERROR_VARIABLE output RESULT_VARIABLE status)
message("${output}")
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} ${ARGUMENT} exited with ${status}, expected 0")
endif()
if(NOT output MATCHES "${EXPECT}")
  message(FATAL_ERROR "${PROGRAM} ${ARGUMENT}: the output above does not match ${EXPECT}")
endif()
