//! phscan: find known images by perceptual and exact hash.
//!
//! Data flows one way: path -> bytes -> pixels -> hashes -> matches -> report.
//! Each stage is a module with one job:
//! [`discovery`] (walk, file lists), [`fileio`] (read-only opening), [`sniff`] (type by
//! magic bytes), [`decode`] (pixels under limits), [`hashing`] (one module per family),
//! [`hashset`] (parsing lists), [`known`] (NSRL known-file lists, which spare known
//! files the decode), [`index`] (multi-index Hamming search), [`matching`] (one file's
//! hashes against every list), [`report`] (JSON writers), and [`scan`], which runs the
//! stages on a thread pool. [`render`] turns a finished report into a document to read;
//! [`resume`] checkpoints a report so that an interrupted scan can be continued,
//! [`merge`] joins the reports of a scan split in parts, and [`compat`] tells whether
//! two reports come from the same scan.

pub mod archive;
pub mod buffers;
pub mod compat;
pub mod compiled;
pub mod config;
pub mod contain;
pub mod decode;
pub mod discovery;
pub mod fileio;
pub mod frames;
pub mod hashing;
pub mod hashset;
pub mod hashset_tool;
pub mod index;
pub mod interrupt;
pub mod known;
pub mod matching;
pub mod merge;
pub mod render;
pub mod report;
pub mod resume;
pub mod robust;
pub mod scan;
pub mod slab;
pub mod sniff;
#[cfg(test)]
mod testrng;
pub mod video;

pub use config::Config;
pub use scan::run;
