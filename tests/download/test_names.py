"""Entry names from hostile upload names are safe, distinct and deterministic."""

from __future__ import annotations

import posixpath
import unicodedata

from service.download.names import (
    STEM_MAX_BYTES,
    SourceVariations,
    entry_names,
    folder_names,
    sanitise_stem,
)

HOSTILE = [
    "../../etc/passwd.mp4",
    "a\\b.mov",
    "nul\x00byte.mp4",
    "new\nline.mp4",
    "del\x7fete.mp4",
    "clip.mp4",
    "clip.mp4",
    "é" * 200 + ".mp4",
    "/abs/path.mp4",
    ".mp4",
    "..",
    "",
    "   ",
    "right\u202eto-left.mp4",
    'win<>:"|?*.mp4',
]


def assert_safe(name: str) -> None:
    folder, file = name.split("/")
    assert posixpath.normpath(name) == name and not name.startswith("/")
    assert folder not in {"", ".", ".."} and "\\" not in name
    assert not any(unicodedata.category(ch).startswith("C") for ch in name)
    assert file == f"{folder}_var{file.rsplit('_var', 1)[1]}"
    assert len(name.encode()) < 255 and len(file.encode()) < 255


def test_hostile_upload_names_give_safe_distinct_entries():
    # Given every hostile name, each with two variations
    sources = [SourceVariations(name, [1, 2]) for name in HOSTILE]

    # When entry names are made
    names = [name for group in entry_names(sources) for name in group]

    # Then each is a safe two-level path and none repeats, even ignoring case
    for name in names:
        assert_safe(name)
    assert len({name.casefold() for name in names}) == len(names) == 2 * len(HOSTILE)


def test_stems_keep_only_the_last_component_without_extension_or_controls():
    assert sanitise_stem("../../etc/passwd.mp4") == "passwd"
    assert sanitise_stem("a\\b.mov") == "b"
    assert sanitise_stem("/abs/path.mp4") == "path"
    assert sanitise_stem("nul\x00byte.mp4") == "nulbyte"
    assert sanitise_stem("new\nline.mp4") == "newline"
    assert sanitise_stem("del\x7fete.mp4") == "delete"
    assert sanitise_stem("my.clip.final.mov") == "my.clip.final"
    assert sanitise_stem(" .hidden. ") == "hidden"
    for nothing_left in [".mp4", "..", ".", "", "...", "\x00\x01", "dir/"]:
        assert sanitise_stem(nothing_left) == "video"


def test_long_names_are_cut_on_a_character_boundary():
    # Given a 200-character name of two-byte characters
    # When it is sanitised
    stem = sanitise_stem("é" * 200 + ".mp4")

    # Then it is whole characters within the byte cap
    assert stem == "é" * (STEM_MAX_BYTES // 2)
    assert len(stem.encode()) <= STEM_MAX_BYTES


def test_entries_are_named_stem_slash_stem_var_and_two_digit_index():
    sources = [SourceVariations("Summer Ad.MOV", [1, 2, 10])]
    assert entry_names(sources) == [
        [
            "Summer Ad/Summer Ad_var01.mp4",
            "Summer Ad/Summer Ad_var02.mp4",
            "Summer Ad/Summer Ad_var10.mp4",
        ]
    ]


def test_colliding_stems_are_numbered_in_upload_order_ignoring_case():
    assert folder_names(["clip.mp4", "clip.mp4", "CLIP.mov", "x/clip.mp4"]) == [
        "clip",
        "clip (2)",
        "CLIP (3)",
        "clip (4)",
    ]


def test_a_number_never_takes_a_stem_a_later_upload_really_has():
    # Given two `ad` uploads and a later upload really named `ad (2)`
    # When folders are named
    folders = folder_names(["ad.mp4", "ad.mp4", "ad (2).mp4", "AD (3).mp4", "ad.mp4"])

    # Then the duplicates skip the real names
    assert folders == ["ad", "ad (4)", "ad (2)", "AD (3)", "ad (5)"]


def test_numbered_long_names_stay_within_the_cap_and_distinct():
    names = folder_names(["x" * 300 + ".mp4"] * 12)
    assert len(set(names)) == 12
    assert all(len(name.encode()) <= STEM_MAX_BYTES for name in names)
    assert names[11].endswith(" (12)")


def test_naming_is_deterministic_across_calls():
    sources = [SourceVariations(name, [1, 3]) for name in HOSTILE]
    assert entry_names(sources) == entry_names(list(sources))
