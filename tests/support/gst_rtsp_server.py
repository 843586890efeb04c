#!/usr/bin/python3
"""A real RTSP server for tests: GStreamer's rtsp-server, run with Debian's /usr/bin/python3 (it has python3-gi).

Usage: gst_rtsp_server.py PORT [--file MP4] [--width W --height H --fps F]
Mounts:
  /test   a live H.264 test pattern (moving ball), shared by all clients
  /file   the given H.264 MP4, from its start for each client (only with --file)
  /audio  a live audio-only stream (PCMU): a URL that serves no video
Prints "ready" on stdout once listening. Stop it with SIGTERM (or SIGKILL to simulate a crash).
"""

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def factory(launch: str, shared: bool) -> GstRtspServer.RTSPMediaFactory:
    f = GstRtspServer.RTSPMediaFactory()
    f.set_launch(launch)
    f.set_shared(shared)
    return f


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port")
    parser.add_argument("--file")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--fps", type=int, default=25)
    args = parser.parse_args()
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(args.port)
    mounts = server.get_mount_points()
    caps = f"video/x-raw,width={args.width},height={args.height},framerate={args.fps}/1"
    mounts.add_factory("/test", factory(
        f"( videotestsrc is-live=true pattern=ball ! {caps} ! x264enc tune=zerolatency speed-preset=ultrafast "
        f"key-int-max={args.fps} bitrate=800 ! rtph264pay name=pay0 pt=96 config-interval=1 )", True))
    mounts.add_factory("/audio", factory(
        "( audiotestsrc is-live=true ! audioconvert ! audioresample ! audio/x-raw,rate=8000,channels=1 "
        "! mulawenc ! rtppcmupay name=pay0 pt=0 )", True))
    if args.file:
        mounts.add_factory("/file", factory(
            f"( filesrc location={args.file} ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )",
            False))
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
        sys.exit(2)
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    print("ready", flush=True)
    loop.run()


if __name__ == "__main__":
    main()
