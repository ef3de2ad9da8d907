# Read by every cmake build of the dependencies (through CMAKE_TOOLCHAIN_FILE in
# .cargo/config.toml); it changes one thing: `libavif-sys` configures libavif with
# -DCMAKE_DISABLE_FIND_PACKAGE_libyuv=1, and this normal variable shadows that cache
# entry, so libavif finds the system's libyuv and converts YUV to RGB with it, as the
# libavif Pillow bundles does (see build.rs, which links libyuv).
set(CMAKE_DISABLE_FIND_PACKAGE_libyuv FALSE)
