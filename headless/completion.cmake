# cmake -DSWAMP=<swamp binary> -DOUTPUT=<file> -P completion.cmake
# Writes `swamp completion bash` to OUTPUT, failing the build when the binary fails.
execute_process(COMMAND "${SWAMP}" completion bash
    OUTPUT_FILE "${OUTPUT}.tmp" RESULT_VARIABLE result ERROR_VARIABLE error)
if(NOT result EQUAL 0)
    file(REMOVE "${OUTPUT}.tmp")
    message(FATAL_ERROR "swamp completion bash failed (${result}): ${error}")
endif()
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
