//! Links libyuv, which libavif (built by `libavif-sys`) uses for its YUV to RGB
//! conversion when the system's libyuv development files are present, as in the
//! libavif that Pillow bundles: without it, libavif's own conversion differs from
//! Pillow's by a level or two on 4:2:0 images. `libavif-sys` does not link it itself.
//! The whole archive is linked because the linker meets this crate's libraries before
//! libavif's (it would otherwise drop every object as unused); its JPEG functions are
//! resolved by the libjpeg-turbo that `turbojpeg-sys` links.
fn main() {
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap();
    let dir = format!("/usr/lib/{arch}-linux-gnu");
    if !std::path::Path::new(&dir).join("libyuv.a").exists() {
        panic!("libyuv.a not found in {dir}: install libyuv-dev (./setup.sh does)");
    }
    println!("cargo:rustc-link-search=native={dir}");
    println!("cargo:rustc-link-lib=static:+whole-archive=yuv");
    println!("cargo:rerun-if-changed=build.rs");
}
