# The arrows between cudamlp's parts that must never exist (README.md, "Layout"), refused at configure
# time. Each part is a library target whose folder is its include root (cmake/parts.cmake), so a part
# can include and call only what it links; an arrow drawn by mistake, by linking or by adding an include
# folder, fails the configure with the arrow named, instead of waiting for a reviewer.
#
#   the reference backend -> cpu, gpu, kernels, simt: an oracle that shares code with what it checks checks
#                            nothing
#   a backend, the kernels, the emulator -> train, report: a backend does not know who drives it
#   a backend, the reference, train -> verify: verify checks them; what it checks must not lean on it
#   the library (every part but the command line), the Python module -> CLI11: only host/cli parses flags,
#                            prints and exits
#   core -> any other part: everything builds on it, it builds on nothing of ours
#
# tests/architecture/ shows it working: a made-up arrow fails this check; the reference backend's sources
# cannot include the cpu backend's, the GPU backend's, the kernels' or the emulator's headers; the
# reference links and trains with nothing but its own closure; every source names the headers of other
# parts by name only (no "cpu/..." or "../"), and every public header compiles with include/ alone.

# The forbidden arrows, one "FROM -> TO..." per entry; a FROM that is not a target in this build (the cpu
# backend with CUDAMLP_CPU=OFF) is left out, a TO that is not one cannot be reached anyway.
set(CUDAMLP_FORBIDDEN_ARROWS
  "cudamlp_reference -> cudamlp_cpu cudamlp_gpu cudamlp_kernels cudamlp_simt cudamlp_gemm_lab cudamlp_verify"
  "cudamlp_core -> cudamlp_backend cudamlp_reference cudamlp_cpu cudamlp_gpu cudamlp_kernels cudamlp_simt cudamlp_dist cudamlp_train cudamlp_report CLI11::CLI11 cudamlp_verify"
  "cudamlp_backend -> cudamlp_reference cudamlp_cpu cudamlp_gpu cudamlp_kernels cudamlp_simt cudamlp_train cudamlp_report CLI11::CLI11 cudamlp_verify"
  "cudamlp_cpu -> cudamlp_reference cudamlp_gpu cudamlp_kernels cudamlp_simt cudamlp_train cudamlp_report CLI11::CLI11 cudamlp_verify"
  "cudamlp_gpu -> cudamlp_reference cudamlp_cpu cudamlp_train cudamlp_report CLI11::CLI11 cudamlp_verify"
  "cudamlp_kernels -> cudamlp_backend cudamlp_reference cudamlp_cpu cudamlp_gpu cudamlp_dist cudamlp_train cudamlp_report CLI11::CLI11 cudamlp_verify"
  "cudamlp_simt -> cudamlp_backend cudamlp_reference cudamlp_cpu cudamlp_gpu cudamlp_kernels cudamlp_dist cudamlp_train cudamlp_report CLI11::CLI11 cudamlp_verify"
  "cudamlp_dist -> cudamlp_backend cudamlp_reference cudamlp_cpu cudamlp_gpu cudamlp_kernels cudamlp_simt cudamlp_train cudamlp_report CLI11::CLI11 cudamlp_verify"
  "cudamlp_train -> cudamlp_report CLI11::CLI11 cudamlp_verify"
  "cudamlp_report -> CLI11::CLI11"
  "cudamlp_serve -> cudamlp_backend cudamlp_reference cudamlp_cpu cudamlp_gpu cudamlp_kernels cudamlp_simt cudamlp_dist cudamlp_train cudamlp_report CLI11::CLI11"
  "cudamlp_verify -> cudamlp_report CLI11::CLI11"
  "cudamlp_library -> CLI11::CLI11"
  "_cudamlp -> CLI11::CLI11"
)

# out = every target in target's link closure (direct and transitive, PRIVATE and INTERFACE links).
function(cudamlp_link_closure target out)
  set(closure "")
  set(pending ${target})
  while(pending)
    list(POP_FRONT pending current)
    if(NOT TARGET ${current} OR current IN_LIST closure)
      continue()
    endif()
    list(APPEND closure ${current})
    get_target_property(type ${current} TYPE)
    set(links "")
    if(NOT type STREQUAL "INTERFACE_LIBRARY")
      get_target_property(direct ${current} LINK_LIBRARIES)
      if(direct)
        list(APPEND links ${direct})
      endif()
    endif()
    get_target_property(interface ${current} INTERFACE_LINK_LIBRARIES)
    if(interface)
      list(APPEND links ${interface})
    endif()
    foreach(link IN LISTS links)
      # A static library's PRIVATE links reach its users as $<LINK_ONLY:name>.
      string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" link "${link}")
      list(APPEND pending ${link})
    endforeach()
  endwhile()
  list(REMOVE_ITEM closure ${target})
  set(${out} ${closure} PARENT_SCOPE)
endfunction()

# out = the include folders a target compiles with or hands on: its own and those its link closure hands it.
function(cudamlp_include_closure target out)
  cudamlp_link_closure(${target} closure)
  get_target_property(type ${target} TYPE)
  set(dirs "")
  if(NOT type STREQUAL "INTERFACE_LIBRARY")
    get_target_property(own ${target} INCLUDE_DIRECTORIES)
    if(own)
      list(APPEND dirs ${own})
    endif()
  endif()
  foreach(linked IN LISTS target closure)
    get_target_property(interface ${linked} INTERFACE_INCLUDE_DIRECTORIES)
    if(interface)
      list(APPEND dirs ${interface})
    endif()
  endforeach()
  # The build tree's folders are written $<BUILD_INTERFACE:dir> (cmake/install.cmake hands on include/ alone
  # once installed): the check is about the build, so it reads those folders and drops the install's.
  list(TRANSFORM dirs REPLACE "^\\$<BUILD_INTERFACE:(.*)>$" "\\1")
  list(FILTER dirs EXCLUDE REGEX "^\\$<INSTALL_INTERFACE:")
  set(${out} ${dirs} PARENT_SCOPE)
endfunction()

# Fails the configure on the first forbidden arrow found, by link or by include folder.
function(cudamlp_forbid_arrows)
  foreach(arrow IN LISTS CUDAMLP_FORBIDDEN_ARROWS)
    string(REGEX MATCH "^([^ ]+) -> (.*)$" _ "${arrow}")
    set(from ${CMAKE_MATCH_1})
    string(REPLACE " " ";" forbidden "${CMAKE_MATCH_2}")
    if(NOT TARGET ${from})
      continue()
    endif()
    cudamlp_link_closure(${from} closure)
    cudamlp_include_closure(${from} includes)
    foreach(to IN LISTS forbidden)
      if(to IN_LIST closure)
        message(FATAL_ERROR "architecture: ${from} links ${to} (directly or through another part); that arrow "
                            "must not exist (cmake/architecture.cmake)")
      endif()
      # An include folder that is a forbidden part's folder, or holds it ("cpu/cpu_ops.h" from
      # host/backends/), reaches its headers. Imported libraries (CLI11) are linked, not included.
      if(TARGET ${to})
        get_target_property(imported ${to} IMPORTED)
        get_target_property(to_folder ${to} SOURCE_DIR)
        if(NOT imported)
          foreach(dir IN LISTS includes)
            cmake_path(IS_PREFIX dir "${to_folder}" NORMALIZE holds)
            if(holds)
              message(FATAL_ERROR "architecture: ${from} compiles with the include folder ${dir}, which holds "
                                  "${to}'s headers; that arrow must not exist (cmake/architecture.cmake)")
            endif()
          endforeach()
        endif()
      endif()
    endforeach()
  endforeach()
endfunction()
