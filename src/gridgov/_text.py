"""Text as Chinese input methods type it: full-width forms made half-width."""

from __future__ import annotations

__all__ = ["to_halfwidth"]

# Full-width forms (U+FF01-FF5E) are ASCII shifted by 0xFEE0; U+3000 is the ideographic space.
# Chinese input methods type them by default, so an ID or phone number often arrives full-width.
_HALFWIDTH = {0xFF01 + i: 0x21 + i for i in range(94)} | {0x3000: 0x20}


def to_halfwidth(text: str) -> str:
    """Return ``text`` with full-width ASCII letters, digits, signs and spaces made half-width.

    Only those forms change: CJK characters, and so names, stay as written (NFKC would fold
    compatibility ideographs too).
    """
    return text if text.isascii() else text.translate(_HALFWIDTH)
