# Walks the link graph written at generate time (link_graph.cmake, see CMakeLists.txt) from one
# target through every library it links, directly or through others, and fails when a forbidden
# target is in that closure. Run as a CTest test:
#
#   cmake -DGRAPH=link_graph.cmake -DROOT=till_runtime -DFORBIDDEN="till_hwsim*;till_stripesim"
#         [-DREQUIRED="till_store"] -P check_link_closure.cmake
#
# A name ending in * forbids every target starting with the rest. REQUIRED names targets the
# closure must contain, so the check cannot pass because the walk saw nothing (a control).
cmake_minimum_required(VERSION 3.25)
if(NOT DEFINED GRAPH OR NOT DEFINED ROOT)
  message(FATAL_ERROR "usage: -DGRAPH=... -DROOT=... -DFORBIDDEN=... [-DREQUIRED=...] -P check_link_closure.cmake")
endif()
include(${GRAPH})  # TILL_GRAPH_TARGETS and TILL_LINKS_<target> for every target of the project
if(NOT ROOT IN_LIST TILL_GRAPH_TARGETS)
  message(FATAL_ERROR "${ROOT} is not a target of this build")
endif()

set(closure "")
set(queue ${ROOT})
set(parent_of_${ROOT} "")
while(queue)
  list(POP_FRONT queue current)
  foreach(dep IN LISTS TILL_LINKS_${current})
    # Entries CMake adds for calls from other directories, link flags and generator leftovers.
    if(dep MATCHES "^::@" OR dep MATCHES "^-" OR dep STREQUAL "")
      continue()
    endif()
    if(dep IN_LIST closure)
      continue()
    endif()
    list(APPEND closure ${dep})
    set(parent_of_${dep} ${current})
    if(dep IN_LIST TILL_GRAPH_TARGETS)  # imported targets (Boost::headers, ...) are leaves
      list(APPEND queue ${dep})
    endif()
  endforeach()
endwhile()

# "a -> b -> c": how the target reaches `dep`.
function(chain_to dep out)
  set(path ${dep})
  set(at ${dep})
  while(NOT "${parent_of_${at}}" STREQUAL "")
    set(at ${parent_of_${at}})
    list(PREPEND path ${at})
  endwhile()
  list(JOIN path " -> " text)
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

set(broken "")
foreach(rule IN LISTS FORBIDDEN)
  foreach(dep IN LISTS closure)
    set(hit FALSE)
    if(rule MATCHES "^(.*)\\*$")
      string(LENGTH "${CMAKE_MATCH_1}" n)
      string(SUBSTRING "${dep}" 0 ${n} head)
      if(head STREQUAL CMAKE_MATCH_1)
        set(hit TRUE)
      endif()
    elseif(dep STREQUAL rule)
      set(hit TRUE)
    endif()
    if(hit)
      chain_to(${dep} how)
      list(APPEND broken "${ROOT} links forbidden target ${dep}: ${how}")
    endif()
  endforeach()
endforeach()
foreach(need IN LISTS REQUIRED)
  if(NOT need IN_LIST closure)
    list(APPEND broken "control: ${ROOT}'s link closure should contain ${need} and does not (the walk is broken)")
  endif()
endforeach()

list(JOIN closure ", " seen)
message(STATUS "${ROOT} links: ${seen}")
if(broken)
  list(JOIN broken "\n  " text)
  message(FATAL_ERROR "link rule broken:\n  ${text}")
endif()
