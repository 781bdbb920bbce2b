# cmake -DSWAMP=<swamp binary> -DARGS="<arguments>" -DOUTPUT=<file> [-DGZIP=<gzip>] -P generate.cmake
# Writes what `swamp <arguments>` prints (a completion script, the manual page) to OUTPUT, failing
# the build when the binary fails. With GZIP: compressed as Debian wants man pages (gzip -9n: no
# name, no time stamp, so the same input gives the same bytes).
# Without SWAMP, INPUT is the file to compress (a hand-written man page).
if(SWAMP)
    separate_arguments(args UNIX_COMMAND "${ARGS}")
    execute_process(COMMAND "${SWAMP}" ${args}
        OUTPUT_FILE "${OUTPUT}.plain" RESULT_VARIABLE result ERROR_VARIABLE error)
    if(NOT result EQUAL 0)
        file(REMOVE "${OUTPUT}.plain")
        message(FATAL_ERROR "swamp ${ARGS} failed (${result}): ${error}")
    endif()
else()
    configure_file("${INPUT}" "${OUTPUT}.plain" COPYONLY)
endif()
if(GZIP)
    execute_process(COMMAND "${GZIP}" -9n -c "${OUTPUT}.plain"
        OUTPUT_FILE "${OUTPUT}.tmp" RESULT_VARIABLE result ERROR_VARIABLE error)
    file(REMOVE "${OUTPUT}.plain")
    if(NOT result EQUAL 0)
        file(REMOVE "${OUTPUT}.tmp")
        message(FATAL_ERROR "gzip failed (${result}): ${error}")
    endif()
else()
    file(RENAME "${OUTPUT}.plain" "${OUTPUT}.tmp")
endif()
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
