#!/usr/bin/env bash
# Debian packages the tests use, installed only when missing: a GStreamer RTSP server (a real camera on
# loopback), Chromium (the web console test), opencv-doc (vtest.avi, real CCTV footage for the presence tests),
# stress-ng (`make test-under-load`), unshare and ip (the cluster test's network namespace). Everything else comes
# from PyPI into .venv.
set -euo pipefail

missing=()
gi_ok() { /usr/bin/python3 -c 'import gi; gi.require_version("GstRtspServer", "1.0"); from gi.repository import GstRtspServer' 2>/dev/null; }
gi_ok || missing+=(python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good)
command -v gst-inspect-1.0 >/dev/null && gst-inspect-1.0 x264enc >/dev/null 2>&1 || missing+=(gstreamer1.0-plugins-ugly gstreamer1.0-tools)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v stress-ng >/dev/null || missing+=(stress-ng)
# the cluster test runs Ray in a network namespace of its own: unshare (util-linux) and ip (iproute2)
command -v unshare >/dev/null || missing+=(util-linux)
command -v ip >/dev/null || [ -x /usr/sbin/ip ] || missing+=(iproute2)
vtest=/usr/share/doc/opencv-doc/examples/data/vtest.avi
[ -f "$vtest" ] || [ -f "$vtest.gz" ] || missing+=(opencv-doc)

if [ ${#missing[@]} -eq 0 ]; then
  echo "system-deps: all present"
  exit 0
fi
echo "system-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: need root to apt-get install ${missing[*]} (run: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
