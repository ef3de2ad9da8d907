#!/usr/bin/env bash
# Makes the synthetic test videos in this folder (FFmpeg's generated test patterns,
# never photographs; a few KB each), then their vPDQ by Meta's vpdq into
# tests/golden/vpdq_ref.tsv.
#
# Usage: tests/fixtures-video/make.sh PEERS_DIR
#   PEERS_DIR: where ../shared/reference/setup.sh installed the peers with WITH_MEDIA=1
#   (its venv has vpdq 0.2.5, built against the system FFmpeg). Needs the `ffmpeg`
#   program (Debian 12: FFmpeg 5.1 with libx264, libx265, libvpx).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 PEERS_DIR" >&2; exit 2; }
peers=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$here"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
src() { echo "$1=size=$2:rate=$3"; }

# H.264 with B-frames, 25 fps, 4 s.
ff -f lavfi -i "$(src testsrc2 112x80 25)" -t 3 -c:v libx264 -preset veryfast -crf 42 \
    -pix_fmt yuv420p -bf 3 -movflags +faststart h264_25.mp4
# H.264 tagged BT.709 (vpdq converts with BT.601 whatever the tags), 29.97 fps.
ff -f lavfi -i "$(src testsrc2 112x80 30000/1001)" -t 2.5 -c:v libx264 -preset veryfast -crf 42 \
    -pix_fmt yuv420p -colorspace bt709 -color_primaries bt709 -color_trc bt709 h264_bt709.mp4
# H.264 with rotation metadata (vpdq hashes the stored frames).
ff -f lavfi -i "$(src mandelbrot 112x64 20)" -t 3 -c:v libx264 -preset veryfast -crf 40 \
    -pix_fmt yuv420p -metadata:s:v:0 rotate=90 h264_rotated.mov
# Motion JPEG, full range (yuvj422p), 15 fps, in AVI.
ff -f lavfi -i "$(src testsrc 80x64 15)" -t 2 -c:v mjpeg -q:v 24 mjpeg_15.avi
# VP9 in WebM, 24 fps.
ff -f lavfi -i "$(src testsrc2 112x80 24)" -t 3 -c:v libvpx-vp9 -b:v 30k -deadline realtime \
    -cpu-used 8 vp9_24.webm
# HEVC, full range, in Matroska, 10 fps.
ff -f lavfi -i "$(src smptehdbars 128x72 10)" -f lavfi -i "$(src testsrc2 128x72 10)" \
    -filter_complex "[0][1]blend=all_mode=difference" -t 3 -c:v libx265 -preset ultrafast -crf 40 \
    -x265-params log-level=error -pix_fmt yuvj420p -color_range pc hevc_full.mkv
# MPEG-4 Part 2, 12 fps.
ff -f lavfi -i "$(src testsrc2 100x66 12)" -t 2.5 -c:v mpeg4 -q:v 24 mpeg4_12.mp4
# H.264 4:4:4 at odd dimensions, 10 fps.
ff -f lavfi -i "$(src testsrc 101x67 10)" -t 2 -c:v libx264 -preset veryfast -crf 40 \
    -pix_fmt yuv444p h264_444_odd.mp4
# MPEG-2 video in an MPEG transport stream, 25 fps.
ff -f lavfi -i "$(src testsrc2 96x64 25)" -t 2 -c:v mpeg2video -q:v 28 mpeg2.ts
# FLV (Sorenson H.263), 2 fps: a frame step of 2.
ff -f lavfi -i "$(src testsrc 96x64 2)" -t 6 -c:v flv1 -q:v 20 flv_2.flv
# WMV2 in ASF, 8 fps.
ff -f lavfi -i "$(src testsrc2 96x64 8)" -t 3 -c:v wmv2 -q:v 20 wmv2.wmv
# Audio before video (the video is stream 1), H.264 with B-frames: vpdq drains the
# decoder only when the video is stream 0, so the last delayed frames are not hashed.
ff -f lavfi -i "sine=frequency=440:sample_rate=8000" -f lavfi -i "$(src testsrc2 96x64 5)" \
    -map 0:a -map 1:v -t 4 -c:a aac -b:a 16k -c:v libx264 -preset veryfast -crf 42 -bf 3 \
    -pix_fmt yuv420p audio_first.mkv
# A tiny frame rate of 1/2 fps (the frame step is 1).
ff -f lavfi -i "$(src testsrc2 96x64 1/2)" -t 8 -c:v libx264 -preset veryfast -crf 42 \
    -pix_fmt yuv420p half_fps.mp4
# A video for a list, and copies of it: re-encoded (VP9, smaller), trimmed (its first
# 2 of 4 seconds, re-encoded).
ff -f lavfi -i "$(src testsrc2 128x96 5)" -t 4 -c:v libx264 -preset veryfast -crf 30 \
    -pix_fmt yuv420p listed.mp4
ff -i listed.mp4 -c:v libvpx-vp9 -b:v 60k -deadline realtime -cpu-used 8 -vf scale=112:84 \
    copy_reencoded.webm
ff -i listed.mp4 -t 2 -c:v libx264 -preset veryfast -crf 32 copy_trimmed.mp4

ls -l ./*.mp4 ./*.mov ./*.avi ./*.webm ./*.mkv ./*.ts ./*.flv ./*.wmv >&2

# The reference: vpdq at 1 s per hash (python-threatexchange's), and at 0.5 s.
{
  for spf in 1.0 0.5; do
    for f in *.mp4 *.mov *.avi *.webm *.mkv *.ts *.flv *.wmv; do
      printf '%s\t%s\t' "$spf" "$f"
      "$peers/venv/bin/python" "$root/../shared/reference/vpdq_ref.py" --seconds-per-hash "$spf" "$f" | cut -f2
    done
  done
} > "$root/tests/golden/vpdq_ref.tsv"
echo "wrote tests/golden/vpdq_ref.tsv ($(wc -l < "$root/tests/golden/vpdq_ref.tsv") lines)" >&2
