//! The first video stream of a container, decoded by libavcodec in vpdq's order of
//! calls (`vpdq/cpp/hashing/filehasher.cpp`): packets read with `av_read_frame`, the
//! video stream's sent to the decoder, every frame it returns passed on with its
//! number in decoder output order; at the end the decoder is drained with the packet
//! the last `av_read_frame` left, as vpdq does (so, like vpdq, only when the video is
//! stream 0: a failed read leaves a blank packet, of stream 0).
//!
//! Unlike vpdq, which throws the whole video away, an error part way (a packet the
//! decoder refuses, a frame it cannot give) ends the video there: the frames before it
//! count, and the error is reported.

use std::ffi::CStr;
use std::ptr;

use ffmpeg_next::ffi;

use super::io::{av_err, Input, ReadAt};
use crate::sniff::VideoContainer;

/// What the first video stream is, before decoding.
#[derive(Clone, Debug)]
pub struct StreamInfo {
    /// libavcodec's name of the codec (`h264`, `hevc`, `vp9`, `mjpeg`, ...).
    pub codec: String,
    /// The stream's dimensions, as stored (rotation metadata is ignored, as vpdq does).
    pub width: u32,
    pub height: u32,
    /// `avg_frame_rate`, or `r_frame_rate` when that is 0, as a double.
    pub frame_rate: f64,
    /// The container's duration in seconds, if it says.
    pub duration: Option<f64>,
}

/// Why a video could not be decoded at all.
#[derive(Debug)]
pub struct OpenError {
    /// `decode`, `unsupported` for a codec this FFmpeg cannot decode, `limit`, or
    /// `read` when the source could not be read.
    pub stage: &'static str,
    pub message: String,
}

fn fail(message: String) -> OpenError {
    OpenError {
        stage: "decode",
        message,
    }
}

/// What the callback says after each frame.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// How decoding ended.
#[derive(Debug, Default)]
pub struct Ended {
    /// Frames the decoder gave.
    pub frames: u64,
    /// The error that ended decoding early, if any.
    pub error: Option<String>,
    /// The callback stopped it.
    pub stopped: bool,
}

/// An open decoder of a container's first video stream.
pub struct Decoder<'a> {
    input: Input<'a>,
    codec: *mut ffi::AVCodecContext,
    stream: i32,
    frame: *mut ffi::AVFrame,
    packet: *mut ffi::AVPacket,
    frames: u64,
}

impl Drop for Decoder<'_> {
    fn drop(&mut self) {
        // SAFETY: each pointer was allocated by `open` (or is null) and is freed once.
        unsafe {
            ffi::av_packet_free(&mut self.packet);
            ffi::av_frame_free(&mut self.frame);
            ffi::avcodec_free_context(&mut self.codec);
        }
    }
}

impl<'a> Decoder<'a> {
    /// Opens `data` as a `container`, finds its first video stream (as vpdq: the
    /// first stream of type video, whatever its disposition) and opens its decoder on
    /// one thread (each phscan worker is one thread of `-j`). The decoder refuses
    /// frames of more than `max_pixels` pixels, whatever the container announced.
    pub fn open(
        data: &'a dyn ReadAt,
        container: VideoContainer,
        max_pixels: u64,
    ) -> Result<(Decoder<'a>, StreamInfo), OpenError> {
        let input = Input::open(data, container).map_err(|(read, message)| OpenError {
            stage: if read { "read" } else { "decode" },
            message,
        })?;
        // SAFETY: `input.ctx` is an open format context whose streams are valid while
        // it is; the codec context is allocated, checked and owned by the Decoder.
        unsafe {
            let ctx = input.ctx;
            let streams = std::slice::from_raw_parts((*ctx).streams, (*ctx).nb_streams as usize);
            let Some((index, st)) = streams.iter().enumerate().find(|(_, &s)| {
                (*(*s).codecpar).codec_type == ffi::AVMediaType::AVMEDIA_TYPE_VIDEO
            }) else {
                return Err(fail(format!(
                    "the {} holds no video stream",
                    container.name()
                )));
            };
            let st = *st;
            let par = (*st).codecpar;
            let codec_name = CStr::from_ptr(ffi::avcodec_get_name((*par).codec_id))
                .to_string_lossy()
                .into_owned();
            let (width, height) = ((*par).width, (*par).height);
            if width <= 0 || height <= 0 {
                return Err(fail(format!(
                    "the {codec_name} stream has no dimensions ({width}x{height})"
                )));
            }
            let pixels = width as u64 * height as u64;
            if pixels > max_pixels {
                return Err(OpenError {
                    stage: "limit",
                    message: format!(
                        "frames are {width}x{height} = {pixels} pixels, over the limit of \
                         {max_pixels} (--max-pixels)"
                    ),
                });
            }
            let mut rate = (*st).avg_frame_rate;
            if rate.num == 0 || rate.den == 0 {
                rate = (*st).r_frame_rate;
            }
            let frame_rate = f64::from(rate.num) / f64::from(rate.den);
            if frame_rate == 0.0 || !frame_rate.is_finite() || frame_rate < 0.0 {
                return Err(fail(format!(
                    "the {codec_name} stream has no frame rate ({}/{})",
                    rate.num, rate.den
                )));
            }
            let duration = ((*ctx).duration > 0)
                .then(|| (*ctx).duration as f64 / f64::from(ffi::AV_TIME_BASE));
            let decoder = ffi::avcodec_find_decoder((*par).codec_id);
            if decoder.is_null() {
                let tag = (*par).codec_tag.to_le_bytes();
                let what = if (*par).codec_id == ffi::AVCodecID::AV_CODEC_ID_NONE {
                    let shown: String = tag
                        .iter()
                        .map(|&b| if b.is_ascii_graphic() { b as char } else { '.' })
                        .collect();
                    format!("an unknown video codec (tag '{shown}')")
                } else {
                    format!("the video codec '{codec_name}'")
                };
                return Err(OpenError {
                    stage: "unsupported",
                    message: format!("{what}: this FFmpeg has no decoder for it"),
                });
            }
            let dec = Decoder {
                input,
                codec: ffi::avcodec_alloc_context3(decoder),
                stream: index as i32,
                frame: ffi::av_frame_alloc(),
                packet: ffi::av_packet_alloc(),
                frames: 0,
            };
            if dec.codec.is_null() || dec.frame.is_null() || dec.packet.is_null() {
                return Err(fail("out of memory".into()));
            }
            let r = ffi::avcodec_parameters_to_context(dec.codec, par);
            if r < 0 {
                return Err(fail(format!(
                    "cannot set up the {codec_name} decoder: {}",
                    av_err(r)
                )));
            }
            (*dec.codec).thread_count = 1;
            (*dec.codec).max_pixels = i64::try_from(max_pixels).unwrap_or(i64::MAX);
            let r = ffi::avcodec_open2(dec.codec, decoder, ptr::null_mut());
            if r < 0 {
                return Err(OpenError {
                    stage: "unsupported",
                    message: format!("cannot open the {codec_name} decoder: {}", av_err(r)),
                });
            }
            let info = StreamInfo {
                codec: codec_name,
                width: width as u32,
                height: height as u32,
                frame_rate,
                duration,
            };
            Ok((dec, info))
        }
    }

    /// The decoder's context, as opened (vpdq's colour converter is made from its
    /// dimensions and pixel format before the first frame).
    pub fn context(&self) -> &ffi::AVCodecContext {
        // SAFETY: allocated and opened in `open`, alive while `self` is.
        unsafe { &*self.codec }
    }

    /// Decodes the whole stream, giving each frame and its number to `each`.
    pub fn run(
        &mut self,
        each: &mut dyn FnMut(u64, &ffi::AVFrame, &ffi::AVCodecContext) -> Flow,
    ) -> Ended {
        let mut end = Ended::default();
        loop {
            // SAFETY: context and packet are valid while `self` is.
            let r = unsafe { ffi::av_read_frame(self.input.ctx, self.packet) };
            if r < 0 {
                // The source's own error says more than FFmpeg's code for it; a read
                // error that the demuxer took for the end of the file is one too.
                if let Some(why) = self.input.read_error() {
                    end.error = Some(format!("reading stopped: {why}"));
                } else if r != ffi::AVERROR_EOF {
                    end.error = Some(format!("reading stopped: {}", av_err(r)));
                }
                break;
            }
            // A read error while this packet was read: its data stops short, and a
            // frame decoded from it would be damaged, so it is dropped and decoding
            // ends as at a failed read (the decoder drained as below).
            if let Some(why) = self.input.read_error() {
                // SAFETY: the packet is valid while `self` is.
                unsafe { ffi::av_packet_unref(self.packet) };
                end.error = Some(format!("reading stopped: {why}"));
                break;
            }
            match self.packet(each) {
                Ok(Flow::Continue) => {}
                Ok(Flow::Stop) => {
                    end.stopped = true;
                    end.frames = self.frames;
                    return end;
                }
                Err(e) => {
                    end.error = Some(e);
                    end.frames = self.frames;
                    return end;
                }
            }
        }
        // Drain with the packet the failed read left (vpdq's flush).
        match self.packet(each) {
            Ok(Flow::Continue) => {}
            Ok(Flow::Stop) => end.stopped = true,
            Err(e) => end.error = end.error.take().or(Some(e)),
        }
        end.frames = self.frames;
        end
    }

    /// vpdq's `processPacket`: a packet of the video stream to the decoder, and every
    /// frame it then gives to `each`; other packets dropped.
    fn packet(
        &mut self,
        each: &mut dyn FnMut(u64, &ffi::AVFrame, &ffi::AVCodecContext) -> Flow,
    ) -> Result<Flow, String> {
        // SAFETY: packet, frame and codec context are valid while `self` is; a frame
        // is lent to `each` only between receive and unref.
        unsafe {
            if (*self.packet).stream_index != self.stream {
                ffi::av_packet_unref(self.packet);
                return Ok(Flow::Continue);
            }
            let r = ffi::avcodec_send_packet(self.codec, self.packet);
            ffi::av_packet_unref(self.packet);
            if r < 0 && r != ffi::AVERROR_EOF {
                return Err(format!(
                    "the decoder refused a packet after {} frame(s): {}",
                    self.frames,
                    av_err(r)
                ));
            }
            loop {
                let r = ffi::avcodec_receive_frame(self.codec, self.frame);
                if r == ffi::AVERROR(libc::EAGAIN) || r == ffi::AVERROR_EOF {
                    return Ok(Flow::Continue);
                }
                if r < 0 {
                    return Err(format!(
                        "the decoder failed after {} frame(s): {}",
                        self.frames,
                        av_err(r)
                    ));
                }
                let n = self.frames;
                self.frames += 1;
                let flow = each(n, &*self.frame, &*self.codec);
                ffi::av_frame_unref(self.frame);
                if flow == Flow::Stop {
                    return Ok(Flow::Stop);
                }
            }
        }
    }
}
