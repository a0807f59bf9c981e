# Every dependency comes from a Debian 12 package (scripts/deps.sh installs them).
# Nothing is vendored and nothing is downloaded at build time.
find_package(Threads REQUIRED)
find_package(Boost 1.81 REQUIRED CONFIG)      # libboost1.81-dev: Asio + Beast, header-only
find_package(OpenSSL 3 REQUIRED)                      # libssl-dev
find_package(SQLite3 REQUIRED)                        # libsqlite3-dev -> SQLite::SQLite3
find_package(nlohmann_json 3 REQUIRED)                # nlohmann-json3-dev
find_package(tl-expected REQUIRED)                    # libexpected-dev
find_package(fmt REQUIRED)                            # libfmt-dev
find_package(spdlog REQUIRED)                         # libspdlog-dev (external fmt)
find_package(CLI11 REQUIRED)                          # libcli11-dev
find_package(Catch2 2 REQUIRED)                       # catch2 (v2)
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBUSB REQUIRED IMPORTED_TARGET libusb-1.0)   # libusb-1.0-0-dev
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)         # libpq-dev (till-office)
if(TILL_BUILD_UI)
  find_package(glfw3 3.3 REQUIRED)                    # libglfw3-dev
  find_package(OpenGL REQUIRED)                       # libgl-dev
  # libimgui-dev 1.86: a static library with the GLFW and OpenGL3 backends compiled in;
  # pkg-config does not add the backends' header folder, so we do.
  pkg_check_modules(IMGUI REQUIRED IMPORTED_TARGET imgui)
  add_library(till_imgui INTERFACE)
  target_link_libraries(till_imgui INTERFACE PkgConfig::IMGUI glfw OpenGL::GL ${CMAKE_DL_LIBS})
  target_include_directories(till_imgui SYSTEM INTERFACE /usr/include/imgui/backends)
endif()
