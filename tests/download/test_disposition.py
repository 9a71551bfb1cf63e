"""The download's file name reaches every browser intact and cannot break the header."""

from __future__ import annotations

from urllib.parse import unquote

from service.download.disposition import content_disposition


def test_an_ascii_name_appears_plainly_in_both_forms():
    assert content_disposition("job-42.zip") == (
        "attachment; filename=\"job-42.zip\"; filename*=UTF-8''job-42.zip"
    )


def test_a_utf8_name_has_an_ascii_fallback_and_an_exact_encoded_form():
    header = content_disposition("Café ☕ ads.zip")
    assert header.isascii()
    assert 'filename="Cafe  ads.zip"' in header
    assert unquote(header.split("filename*=UTF-8''")[1]) == "Café ☕ ads.zip"


def test_quotes_backslashes_and_controls_cannot_escape_the_header():
    # Given a name built to break out of the quoted string and inject a header
    name = 'evil"; filename="x.exe\\\r\nSet-Cookie: a=b.zip'

    # When it is rendered
    header = content_disposition(name)

    # Then the fallback holds no quote, backslash or line break, and filename* is encoded
    fallback = header.split('filename="')[1].split('";')[0]
    assert '"' not in fallback and "\\" not in fallback
    assert "\r" not in header and "\n" not in header
    assert header.count('"') == 2
    assert unquote(header.split("filename*=UTF-8''")[1]) == name.replace("\r\n", "")


def test_an_empty_name_falls_back_to_a_default():
    assert 'filename="download.zip"' in content_disposition("\x00")
