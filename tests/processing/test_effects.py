"""Effect combinations: distinct, in range, reproducible from a seed."""

from __future__ import annotations

import pytest

from service.processing.effects import (
    BRIGHTNESS,
    CONTRAST,
    ROTATION_RAD,
    SATURATION,
    Effects,
    draw_effects,
)


def _within(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= value <= bounds[1]


def test_draws_the_requested_number_of_distinct_combinations_within_range() -> None:
    # When ten combinations are drawn
    drawn = draw_effects(10, seed=7)
    # Then there are ten, no two alike, each parameter within its range
    assert len(drawn) == 10
    assert len(set(drawn)) == 10
    for e in drawn:
        assert _within(abs(e.rotation_rad), ROTATION_RAD)
        assert _within(e.brightness, BRIGHTNESS)
        assert _within(e.contrast, CONTRAST)
        assert _within(e.saturation, SATURATION)


def test_twenty_variations_the_product_maximum_can_be_drawn() -> None:
    drawn = draw_effects(20, seed=None)
    assert len(set(drawn)) == 20


def test_rotation_goes_both_ways() -> None:
    # Given many draws / Then both signs occur (the magnitude alone is ranged)
    signs = {e.rotation_rad > 0 for e in draw_effects(20, seed=3)}
    assert signs == {True, False}


def test_the_same_seed_gives_the_same_list() -> None:
    assert draw_effects(5, seed=42) == draw_effects(5, seed=42)
    assert draw_effects(5, seed=42) != draw_effects(5, seed=43)


def test_no_seed_draws_from_os_entropy() -> None:
    assert draw_effects(5, seed=None) != draw_effects(5, seed=None)


def test_excluded_combinations_are_never_drawn() -> None:
    # Given the combinations a seed would give first
    first = draw_effects(5, seed=1)
    # When the same seed draws again with those excluded
    again = draw_effects(5, seed=1, exclude=first)
    # Then none repeats, and the draw is still reproducible
    assert not set(again) & set(first)
    assert again == draw_effects(5, seed=1, exclude=first)


def test_zero_draws_nothing_and_a_negative_count_is_refused() -> None:
    assert draw_effects(0, seed=1) == []
    with pytest.raises(ValueError, match="count"):
        draw_effects(-1, seed=1)


def test_parameters_are_rounded_so_they_compare_exactly_after_a_json_round_trip() -> None:
    # Given unrounded inputs
    e = Effects(rotation_rad=-0.00123456, brightness=0.012345678, contrast=1.0, saturation=0.99999)
    # Then they are rounded to 4 decimals, and JSON gives back an equal object
    assert e == Effects(rotation_rad=-0.0012, brightness=0.0123, contrast=1.0, saturation=1.0)
    assert Effects.model_validate_json(e.model_dump_json()) == e


def test_a_parameter_rounding_to_zero_is_plain_zero() -> None:
    e = Effects(rotation_rad=-0.00001, brightness=-0.00001, contrast=1, saturation=1)
    assert str(e.rotation_rad) == "0.0" and str(e.brightness) == "0.0"


def test_effects_are_immutable() -> None:
    e = Effects(rotation_rad=0.005, brightness=0, contrast=1, saturation=1)
    with pytest.raises(ValueError, match="frozen"):
        e.brightness = 0.1  # type: ignore[misc]


def test_the_filter_graph_crops_to_even_then_rotates_by_perspective_then_adjusts_colour() -> None:
    # Given recorded effects
    e = Effects(rotation_rad=-0.005, brightness=0.02, contrast=1.03, saturation=0.97)
    # Then the graph is pinned: rotate's corner mapping about ((W-1)/2, (H-1)/2) of a frame
    # padded with one edge pixel and three black ones, cos/sin to 12 decimals, then eq
    c, s = "(0.999987500026)", "(-0.004999979167)"
    cx, cy, fx, fy = "((W-1)/2)", "((H-1)/2)", "((W+1)/2)", "((H+1)/2)"
    assert e.filter_graph() == (
        "crop=trunc(iw/2)*2:trunc(ih/2)*2,"
        "pad=iw+8:ih+8:4:4,"
        "fillborders=4:4:4:4:smear,"
        "fillborders=3:3:3:3:fixed:black,"
        "perspective="
        f"x0={cx}+{c}*(-{cx})+{s}*(-{cy}):y0={cy}-{s}*(-{cx})+{c}*(-{cy}):"
        f"x1={cx}+{c}*{fx}+{s}*(-{cy}):y1={cy}-{s}*{fx}+{c}*(-{cy}):"
        f"x2={cx}+{c}*(-{cx})+{s}*{fy}:y2={cy}-{s}*(-{cx})+{c}*{fy}:"
        f"x3={cx}+{c}*{fx}+{s}*{fy}:y3={cy}-{s}*{fx}+{c}*{fy}:"
        "interpolation=linear:sense=source,"
        "crop=iw-8:ih-8:4:4,"
        "eq=brightness=0.0200:contrast=1.0300:saturation=0.9700"
    )


def test_the_graph_it_replaced_is_kept_as_the_reference_for_the_look() -> None:
    e = Effects(rotation_rad=-0.005, brightness=0.02, contrast=1.03, saturation=0.97)
    assert e.rotate_filter_graph() == (
        "crop=trunc(iw/2)*2:trunc(ih/2)*2,"
        "rotate=-0.0050:fillcolor=black,"
        "eq=brightness=0.0200:contrast=1.0300:saturation=0.9700"
    )
