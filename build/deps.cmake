# Read by every cmake build among the dependencies (CMAKE_TOOLCHAIN_FILE, set in
# .cargo/config.toml), before their own CMakeLists. It only pins which optional
# libraries two of them use, so that what is built does not depend on which
# development packages happen to be installed:
#
# - libavif (`libavif-sys` configures it with -DCMAKE_DISABLE_FIND_PACKAGE_libyuv=1):
#   this normal variable shadows that cache entry, so libavif uses the system's libyuv
#   for YUV to RGB, as the libavif Pillow bundles does (build.rs links libyuv).
# - libheif (`libheif-sys` turns every codec on and takes what it finds): only the
#   libde265 HEVC decoder, the one decoder pillow-heif's libheif has. No encoder (x265
#   is GPL), no second AV1 decoder (AVIF goes to libavif and its own dav1d), no JPEG or
#   JPEG 2000 decoder (the system's libjpeg would meet libjpeg-turbo's symbols).
set(CMAKE_DISABLE_FIND_PACKAGE_libyuv FALSE)
if(CMAKE_SOURCE_DIR MATCHES "libheif")
    foreach(p X265 kvazaar UVG266 vvdec vvenc X264 OpenH264 DAV1D AOM SvtEnc RAV1E
              JPEG OpenJPEG FFMPEG OPENJPH)
        set(CMAKE_DISABLE_FIND_PACKAGE_${p} TRUE)
    endforeach()
endif()
