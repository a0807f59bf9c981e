# Source-level rules of the architecture, checked by scanning the tree (cmake -P, no build):
#  1. The include graph is layered. Each module may include only the modules listed for it
#     below, all of which sit under it; since every list names only lower modules, there can be
#     no cycle either. The order, lowest first:
#       base < pos < store < terminal < sync < office | hwsim | stripesim < app < ui
#     (hwsim and stripesim are test equipment: they may see base and terminal, never the client).
#     app/src/sim_wiring.cpp is the one file of app that may include the simulators (it is the
#     till_sim_wiring target, which the link check keeps out of till_runtime).
#  2. No .cpp in pos/, app/, sync/, ui/ or office/ is longer than MAX_LINES (600): a file a
#     newcomer can read in one sitting.
# Inputs: -DROOT=<source tree> [-DMAX_LINES=600]. Fails naming every file that breaks a rule.
cmake_minimum_required(VERSION 3.20)
if(NOT ROOT)
  message(FATAL_ERROR "check_source_rules: -DROOT=<source tree> is required")
endif()
if(NOT MAX_LINES)
  set(MAX_LINES 600)
endif()

# folder (relative to ROOT) | the till/<module>/ prefixes its files may include, comma-separated
set(rules
  "base|base"
  "pos/src|base,pos"
  "pos/include|base,pos"
  "pos/store|base,pos,store"
  "terminal|base,pos,terminal"
  "sync|base,pos,store,sync"
  "office|base,pos,sync,office"
  "hardware-sim|base,terminal,hwsim"
  "stripe-sim|base,stripesim"
  "app|base,pos,store,terminal,sync,app"
  "ui|base,pos,app,ui")
set(exceptions "app/src/sim_wiring.cpp|hwsim,stripesim")

set(problems "")
foreach(rule IN LISTS rules)
  string(REPLACE "|" ";" parts "${rule}")
  string(REPLACE "," ";" parts "${parts}")
  list(GET parts 0 folder)
  list(SUBLIST parts 1 -1 allowed)
  file(GLOB_RECURSE files "${ROOT}/${folder}/*.cpp" "${ROOT}/${folder}/*.hpp")
  foreach(f IN LISTS files)
    file(RELATIVE_PATH rel "${ROOT}" "${f}")
    # pos/store is inside pos/: its files follow the store's rule, not pos's.
    if(folder MATCHES "^pos/(src|include)$" AND rel MATCHES "^pos/store/")
      continue()
    endif()
    set(file_allowed ${allowed})
    foreach(ex IN LISTS exceptions)
      string(REPLACE "|" ";" ex_parts "${ex}")
      string(REPLACE "," ";" ex_parts "${ex_parts}")
      list(GET ex_parts 0 ex_file)
      if(rel STREQUAL ex_file)
        list(SUBLIST ex_parts 1 -1 extra)
        list(APPEND file_allowed ${extra})
      endif()
    endforeach()
    file(STRINGS "${f}" includes REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]till/[a-z_]+/")
    foreach(line IN LISTS includes)
      string(REGEX REPLACE ".*till/([a-z_]+)/.*" "\\1" module "${line}")
      if(NOT module IN_LIST file_allowed)
        string(STRIP "${line}" line)
        list(APPEND problems "${rel}: '${line}' reaches up to '${module}' (allowed: ${file_allowed})")
      endif()
    endforeach()
    if(rel MATCHES "^(pos|app|sync|ui|office)/.*\\.cpp$")
      file(STRINGS "${f}" lines)
      list(LENGTH lines n)
      if(n GREATER MAX_LINES)
        list(APPEND problems "${rel}: ${n} lines, more than ${MAX_LINES}: split it along a seam")
      endif()
    endif()
  endforeach()
endforeach()

if(problems)
  list(JOIN problems "\n  " text)
  message(FATAL_ERROR "source rules broken:\n  ${text}")
endif()
message(STATUS "source rules hold under ${ROOT}")
