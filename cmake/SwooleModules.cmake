# Helpers that keep each module's source list in its own directory.
#
#   sw_add_module(<name> SOURCES a.c b.c ... [DEPS <module> ...])
#
# makes an OBJECT library swoole_mod_<name> compiled with the library's flags. The shared and
# static libraries are assembled from every module; the tests link only the modules they need
# (and their DEPS, recursively), so a module under construction cannot break another's tests.

define_property(GLOBAL PROPERTY SW_MODULES BRIEF_DOCS "libswoole modules" FULL_DOCS "in order")

function(sw_add_module name)
    cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
    if(NOT ARG_SOURCES)
        message(FATAL_ERROR "sw_add_module(${name}): no SOURCES")
    endif()
    set(t swoole_mod_${name})
    add_library(${t} OBJECT ${ARG_SOURCES})
    target_include_directories(${t} PUBLIC ${SW_ROOT}/include PRIVATE ${SW_ROOT}/src)
    target_compile_definitions(${t} PRIVATE SWOOLE_BUILDING_LIBRARY=1)
    if(SW_HAVE_OPENSSL)
        target_compile_definitions(${t} PRIVATE SW_HAVE_OPENSSL=1)
        target_include_directories(${t} PRIVATE ${OPENSSL_INCLUDE_DIR})
    endif()
    if(SW_HAVE_ZLIB)
        target_compile_definitions(${t} PRIVATE SW_HAVE_ZLIB=1)
        target_include_directories(${t} PRIVATE ${ZLIB_INCLUDE_DIRS})
    endif()
    if(SWOOLE_BUILD_FUZZ)
        # Coverage instrumentation for libFuzzer inside the library code, not only the target.
        target_compile_options(${t} PRIVATE -fsanitize=fuzzer-no-link)
    endif()
    set_property(GLOBAL APPEND PROPERTY SW_MODULES ${name})
    set_property(GLOBAL PROPERTY SW_MODULE_DEPS_${name} ${ARG_DEPS})
endfunction()

# Every module's objects, for the libraries.
function(sw_collect_module_objects out)
    get_property(mods GLOBAL PROPERTY SW_MODULES)
    set(objs "")
    foreach(m IN LISTS mods)
        list(APPEND objs $<TARGET_OBJECTS:swoole_mod_${m}>)
    endforeach()
    set(${out} ${objs} PARENT_SCOPE)
endfunction()

# The modules `names` need, themselves included, dependencies first.
function(sw_module_closure out)
    set(result "")
    set(todo ${ARGN})
    while(todo)
        list(POP_FRONT todo m)
        if(NOT m IN_LIST result)
            list(APPEND result ${m})
            get_property(deps GLOBAL PROPERTY SW_MODULE_DEPS_${m})
            list(APPEND todo ${deps})
        endif()
    endwhile()
    set(${out} ${result} PARENT_SCOPE)
endfunction()

# Link `target` with the objects of `modules` (and their dependencies) and what they need.
function(sw_link_modules target)
    sw_module_closure(mods ${ARGN})
    foreach(m IN LISTS mods)
        target_sources(${target} PRIVATE $<TARGET_OBJECTS:swoole_mod_${m}>)
    endforeach()
    target_include_directories(${target} PRIVATE ${SW_ROOT}/include ${SW_ROOT}/src)
    target_link_libraries(${target} PRIVATE Threads::Threads)
    if(SW_HAVE_OPENSSL)
        target_link_libraries(${target} PRIVATE OpenSSL::SSL OpenSSL::Crypto)
    endif()
    if(SW_HAVE_ZLIB)
        target_link_libraries(${target} PRIVATE ZLIB::ZLIB)
    endif()
endfunction()
