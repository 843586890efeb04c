"""Helpers shared by the test packages: a real GStreamer RTSP server, generated media, a WHIP publisher."""
