# cmake -DBUILD_DIR=... -DTARGET=... -DPROGRAM=... -P build_and_run.cmake: builds TARGET in BUILD_DIR, then
# runs PROGRAM (when given); fails with the build's or the program's output when either fails.
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${TARGET} RESULT_VARIABLE built
                OUTPUT_VARIABLE output ERROR_VARIABLE output)
if(NOT built EQUAL 0)
  message(FATAL_ERROR "building ${TARGET} failed:\n${output}")
endif()
if(PROGRAM)
  execute_process(COMMAND ${PROGRAM} RESULT_VARIABLE ran OUTPUT_VARIABLE output ERROR_VARIABLE output)
  message("${output}")
  if(NOT ran EQUAL 0)
    message(FATAL_ERROR "${PROGRAM} failed (${ran})")
  endif()
endif()
