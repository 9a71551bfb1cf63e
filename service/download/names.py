"""Archive entry names: `<stem>/<stem>_var<NN>.mp4`, safe and distinct, from user-given names.

Original upload names are hostile input. The stem keeps only what a user recognises (the
last path component without its extension) and nothing an unzipper could misuse: no
separators, no `.`/`..`, no control characters, bounded length. Stems that collide
(ignoring case, as Windows and macOS do) get numbered folders in upload order.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

# Stems are capped in UTF-8 bytes, so `stem/stem_varNN.mp4` stays near 210 bytes: each
# path component and even the whole name fit the common 255-byte file-name limit.
STEM_MAX_BYTES = 100

# Used when nothing printable is left of a name.
FALLBACK_STEM = "video"

# Characters Windows refuses in file names; replaced so the ZIP extracts there too.
_WINDOWS_RESERVED = re.compile(r'[<>:"|?*]')


@dataclass(frozen=True)
class SourceVariations:
    """One uploaded video as the user named it, and the variation indices (1-based) to list."""

    original_name: str
    variation_indices: Sequence[int]


def sanitise_stem(original_name: str) -> str:
    """The safe folder and file stem for one upload name (before collision numbering)."""
    text = "".join(ch for ch in original_name if not unicodedata.category(ch).startswith("C"))
    last = re.split(r"[/\\]", text)[-1]
    base, dot, _extension = last.rpartition(".")
    stem = base if dot else last
    stem = unicodedata.normalize("NFC", stem)
    stem = _WINDOWS_RESERVED.sub("_", stem)
    stem = _cap_bytes(stem.strip(". "), STEM_MAX_BYTES).strip(". ")
    return stem or FALLBACK_STEM


def folder_names(original_names: Sequence[str]) -> list[str]:
    """One distinct folder per upload, in upload order: `ad`, `ad (2)`, `ad (3)`...

    A numbered name never takes a stem some upload really has, so `ad`, `ad`, `ad (2)`
    become `ad`, `ad (3)`, `ad (2)`.
    """
    stems = [sanitise_stem(name) for name in original_names]
    real = {stem.casefold() for stem in stems}
    taken: set[str] = set()
    folders = []
    for stem in stems:
        folder = stem
        if stem.casefold() in taken:
            number = 2
            while (folder := _numbered(stem, number)).casefold() in taken | real:
                number += 1
        taken.add(folder.casefold())
        folders.append(folder)
    return folders


def entry_names(sources: Sequence[SourceVariations]) -> list[list[str]]:
    """The archive entry names for each source's variations, parallel to the input."""
    folders = folder_names([source.original_name for source in sources])
    return [
        [f"{folder}/{folder}_var{index:02d}.mp4" for index in source.variation_indices]
        for folder, source in zip(folders, sources, strict=True)
    ]


def _numbered(stem: str, number: int) -> str:
    """`stem (n)`, shortening the stem so the result still respects the byte cap."""
    suffix = f" ({number})"
    room = STEM_MAX_BYTES - len(suffix.encode())
    return (_cap_bytes(stem, room).rstrip(". ") or FALLBACK_STEM) + suffix


def _cap_bytes(text: str, limit: int) -> str:
    """The longest prefix of `text` whose UTF-8 form fits `limit` bytes; never splits a
    character."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore")
