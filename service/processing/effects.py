"""The effect combinations that make each variation unique, and the ffmpeg filter graph
that applies one."""

from __future__ import annotations

import random
from collections.abc import Collection

from pydantic import BaseModel, ConfigDict, field_validator

from service.processing.rotation import rotation_filters

DECIMALS = 4
"""Every parameter is rounded to this many decimals, so combinations print cleanly,
survive a JSON round trip unchanged and compare exactly."""

# Ranges are inclusive; rotation is in radians (0.01 rad ≈ 0.57°), the rest are the eq
# filter's own units. Subtle on purpose: a variation must look like the same ad.
ROTATION_RAD = (0.001, 0.01)
"""Magnitude range; the sign is drawn separately."""
BRIGHTNESS = (-0.05, 0.05)
CONTRAST = (0.95, 1.05)
SATURATION = (0.95, 1.05)

_MAX_DRAWS_PER_EFFECT = 1000
"""Give up rather than loop forever if `exclude` ever covered the space (it is ~10^11)."""


class Effects(BaseModel):
    """One variation's parameters; recorded in its VariationRendered event."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    rotation_rad: float
    brightness: float
    contrast: float
    saturation: float

    @field_validator("*")
    @classmethod
    def _round(cls, value: float) -> float:
        return round(value, DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0

    def filter_graph(self) -> str:
        """The `-vf` chain: crop odd sizes to even (yuv420p needs it, and a 1-pixel crop
        does not resample like scale would), rotate inside the same frame, then eq."""
        return f"{_EVEN},{rotation_filters(self.rotation_rad)},{self._eq()}"

    def rotate_filter_graph(self) -> str:
        """The graph before issue 13, with ffmpeg's `rotate` (~3x slower than the
        rotation filter_graph uses): the reference the look is measured against in
        tests and bench/render.py, not used to render."""
        return f"{_EVEN},rotate={_fmt(self.rotation_rad)}:fillcolor=black,{self._eq()}"

    def _eq(self) -> str:
        return (
            f"eq=brightness={_fmt(self.brightness)}:contrast={_fmt(self.contrast)}"
            f":saturation={_fmt(self.saturation)}"
        )


_EVEN = "crop=trunc(iw/2)*2:trunc(ih/2)*2"


def draw_effects(
    count: int, *, seed: int | None, exclude: Collection[Effects] = ()
) -> list[Effects]:
    """Draw `count` distinct combinations, none in `exclude`. The same seed (and exclude)
    gives the same list, so a worker that records a job's seed renders the same effects
    on a retry; `seed=None` draws from OS entropy."""
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    rng = random.Random(seed)
    taken = set(exclude)
    drawn: list[Effects] = []
    for _ in range(count * _MAX_DRAWS_PER_EFFECT):
        if len(drawn) == count:
            break
        effects = _draw_one(rng)
        if effects not in taken:
            taken.add(effects)
            drawn.append(effects)
    if len(drawn) < count:
        raise ValueError(f"could not draw {count} distinct effect combinations")
    return drawn


def _draw_one(rng: random.Random) -> Effects:
    sign = rng.choice((-1.0, 1.0))
    return Effects(
        rotation_rad=sign * rng.uniform(*ROTATION_RAD),
        brightness=rng.uniform(*BRIGHTNESS),
        contrast=rng.uniform(*CONTRAST),
        saturation=rng.uniform(*SATURATION),
    )


def _fmt(value: float) -> str:
    return f"{value:.{DECIMALS}f}"
