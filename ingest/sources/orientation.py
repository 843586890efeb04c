"""Frames turned upright as their display matrix says (phones, cameras mounted sideways or upside down).

A container or stream may carry a 3x3 display matrix (FFmpeg's AV_FRAME_DATA_DISPLAYMATRIX, from an MP4 `tkhd`
box or an H.264 SEI) telling players how to show the stored picture: display (x', y') = (a*x + c*y + tx,
b*x + d*y + ty) with [a b u; c d v; tx ty w] in 16.16 fixed point (libavutil/display.h). Vigil applies it to the
pixels once, right after decoding, so the sampler, the detectors, the footage and the model all see what an
operator would. Only the eight axis-aligned cases (quarter turns, with or without a mirror) exist in practice;
any other matrix leaves the picture as stored.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
from av.sidedata.sidedata import Type as SideDataType

from ingest.sources.base import Image

Linear = tuple[int, int, int, int]  # (a, b, c, d) of the display matrix


def display_linear(frame: Any) -> Linear | None:
    """The linear part (a, b, c, d) of the frame's display matrix, or None when it carries none."""
    for data in frame.side_data:
        if data.type is SideDataType.DISPLAYMATRIX:
            values = struct.unpack("=9i", bytes(data))
            return values[0], values[1], values[3], values[4]
    return None


def upright(image: Image, linear: Linear | None) -> Image:
    """`image` ([H, W, 3]) as the display matrix shows it: transposed for a quarter turn, then mirrored per axis."""
    if linear is None:
        return image
    a, b, c, d = linear
    if a == 0 and d == 0 and b != 0 and c != 0:  # x' follows y and y' follows x: the axes swap
        shown, flip_x, flip_y = image.transpose(1, 0, 2), c < 0, b < 0
    elif b == 0 and c == 0 and a != 0 and d != 0:
        shown, flip_x, flip_y = image, a < 0, d < 0
    else:
        return image
    if flip_x:
        shown = shown[:, ::-1]
    if flip_y:
        shown = shown[::-1]
    return shown if shown is image else np.ascontiguousarray(shown)
