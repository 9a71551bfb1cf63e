"""The rotation step of the filter graph: ffmpeg's `rotate` mapping, done by `perspective`.

`rotate` resamples one pixel at a time in scalar C and cost about as much as decoding
and encoding together. `perspective` computes its source position for every pixel
once, when the graph starts, and then only interpolates: given the four corners that
`rotate` would send to the output's corners, it is the same mapping (an affine map is a
projective map) at ~1/3 of the cost.

Both use pixel centres at integer coordinates and rotate about ((w-1)/2, (h-1)/2): the
output pixel at offset (dx, dy) from the centre samples the source at
(c·dx + s·dy, -s·dx + c·dy) from it, with c = cos(angle), s = sin(angle). The corners
are ffmpeg expressions in the frame's W and H, so the graph does not depend on the size.

The uncovered corners stay black as with `rotate`, which interpolates up to one pixel
past the edge (the edge's colour) and fills beyond with black, while `perspective` only
clamps to the edge. So the frame is padded by PAD pixels (two chroma pixels in yuv420p)
made of the edge's colour (smear) then black, rotated, and cropped back.
"""

from __future__ import annotations

import math

PAD = 4
"""Border added around the frame while rotating: an even number of luma pixels, so the
chroma planes of yuv420p get whole pixels too."""
BLACK = PAD - 1
"""Of the border, the outer part that is black; the inner pixel (luma) repeats the edge."""
_DIGITS = 12
"""Decimals of cos/sin in the corner expressions: far below a pixel at any frame size."""


def rotation_filters(angle_rad: float) -> str:
    """The filters that rotate a frame by `angle_rad` (ffmpeg `rotate`'s sense) about its
    centre, keeping its size; corners uncovered by the rotation are black."""
    c = _num(math.cos(angle_rad))
    s = _num(math.sin(angle_rad))
    # Centre (W-1)/2, (H-1)/2 of the padded frame; the far edges are (W+1)/2, (H+1)/2 from it.
    near_x, near_y, far_x, far_y = "((W-1)/2)", "((H-1)/2)", "((W+1)/2)", "((H+1)/2)"

    def source(dx: str, dy: str) -> tuple[str, str]:
        return (
            f"{near_x}+{c}*{dx}+{s}*{dy}",
            f"{near_y}-{s}*{dx}+{c}*{dy}",
        )

    corners = (
        source(f"(-{near_x})", f"(-{near_y})"),  # top left, output (0, 0)
        source(far_x, f"(-{near_y})"),  # top right, output (W, 0)
        source(f"(-{near_x})", far_y),  # bottom left, output (0, H)
        source(far_x, far_y),  # bottom right, output (W, H)
    )
    mapping = ":".join(f"x{n}={x}:y{n}={y}" for n, (x, y) in enumerate(corners))
    return (
        f"pad=iw+{2 * PAD}:ih+{2 * PAD}:{PAD}:{PAD},"
        f"fillborders={PAD}:{PAD}:{PAD}:{PAD}:smear,"
        f"fillborders={BLACK}:{BLACK}:{BLACK}:{BLACK}:fixed:black,"
        f"perspective={mapping}:interpolation=linear:sense=source,"
        f"crop=iw-{2 * PAD}:ih-{2 * PAD}:{PAD}:{PAD}"
    )


def _num(value: float) -> str:
    """A constant for an ffmpeg expression, in parentheses so a sign never meets an operator."""
    return f"({value:.{_DIGITS}f})"
