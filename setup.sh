#!/bin/sh
# Installs the system packages that building and testing phscan need, when they are
# missing: a C compiler, cmake, nasm, meson and ninja, pkg-config (libjpeg-turbo,
# libwebp, libheif, libavif, dav1d, SQLite and zstd are compiled from source into
# phscan), libde265 (the HEVC decoder libheif links, shared; its development
# package brings the run-time library) and libyuv (linked statically: libavif's YUV to
# RGB conversion, as in Pillow), FFmpeg's development files (libavformat, libavcodec,
# libswscale, libavutil: videos are decoded in process through them, linked shared)
# and libclang (the FFmpeg bindings are generated at build time), and for the tests
# `script`, Chromium, Java 17 and pyspark 4.3.0 (in a virtual environment, for the
# Spark job's test). Debian and
# Ubuntu (apt-get), as root or through sudo; elsewhere it names what to install. A Rust toolchain (1.93 or newer) is
# assumed. `.ci/run` runs this same script, so the README's quick start and CI need
# the same packages.
set -eu
need=""
command -v cc >/dev/null 2>&1 || need="$need gcc libc6-dev"
command -v make >/dev/null 2>&1 || need="$need make"
command -v cmake >/dev/null 2>&1 || need="$need cmake"
command -v nasm >/dev/null 2>&1 || need="$need nasm"
command -v meson >/dev/null 2>&1 || need="$need meson"
command -v ninja >/dev/null 2>&1 || need="$need ninja-build"
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
command -v c++ >/dev/null 2>&1 || need="$need g++"
pkg-config --exists libde265 2>/dev/null || need="$need libde265-dev"
[ -e /usr/include/libyuv.h ] || need="$need libyuv-dev"
for lib in libavformat libavcodec libswscale libavutil; do
    pkg-config --exists $lib 2>/dev/null || need="$need $lib-dev"
done
# bindgen (ffmpeg-sys-next's build script) loads libclang's C library (libclang.so or
# libclang-N.so); libclang-cpp, which other packages pull in, is not it.
ls /usr/lib/llvm-*/lib/libclang.so* /usr/lib/llvm-*/lib/libclang-[0-9]*.so* \
    /usr/lib/*/libclang.so* /usr/lib/*/libclang-[0-9]*.so* >/dev/null 2>&1 \
    || need="$need libclang-dev"
# The tests give phscan a terminal with util-linux's `script`, and open the HTML case
# report (`phscan report`) in headless Chromium.
command -v script >/dev/null 2>&1 || need="$need bsdutils"
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
    || need="$need chromium"
# The Spark job's test (tests/spark.rs) runs spark-submit on a local cluster: Java 17,
# and pyspark in a virtual environment (below).
command -v java >/dev/null 2>&1 || need="$need openjdk-17-jre-headless"
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need="$need python3-venv"
if [ -n "$need" ]; then
    command -v cargo >/dev/null 2>&1 || echo "setup.sh: cargo not found: install a Rust toolchain (https://rustup.rs)" >&2
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "setup.sh: please install:$need" >&2
        exit 2
    fi
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    echo "setup.sh: installing$need" >&2
    # shellcheck disable=SC2086 # a list of package names
    if ! $sudo apt-get install -y -qq $need >/dev/null 2>&1; then
        $sudo apt-get update -qq
        # Ubuntu has no `chromium` package; its `chromium-browser` provides the browser.
        if echo "$need" | grep -qw chromium && ! apt-cache show chromium >/dev/null 2>&1; then
            need=$(echo "$need" | sed 's/chromium/chromium-browser/')
        fi
        $sudo apt-get install -y -qq $need >/dev/null
    fi
fi
# pyspark 4.3.0 in its own virtual environment, where tests/spark.rs looks for it
# (PHSCAN_SPARK_VENV, by default ~/.cache/phscan/spark-venv); about 1.2 GB, once.
venv="${PHSCAN_SPARK_VENV:-$HOME/.cache/phscan/spark-venv}"
if ! "$venv/bin/python" -c 'import pyspark, sys; sys.exit(pyspark.__version__ != "4.3.0")' >/dev/null 2>&1; then
    echo "setup.sh: installing pyspark 4.3.0 into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q pyspark==4.3.0
fi
