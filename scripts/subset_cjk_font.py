"""Make `data/fonts/NotoSansSC-Regular-subset.otf`, the font the PDF dossier embeds.

PDFs must carry their CJK font (the reader's machine may have none), and Noto Sans CJK's
collection is 20 MB: this keeps Noto Sans CJK SC (SIL OFL 1.1, data/fonts/OFL.txt) with the
basic CJK Unified Ideographs block (U+4E00–U+9FFF: every character of GB 2312 and GBK's
ideographs, so rare name characters render), CJK and full-width punctuation, Latin and the
few symbols the dossier uses. fpdf2 then embeds only the glyphs a document uses.

    apt-get install fonts-noto-cjk
    uv run --no-project --with fonttools python scripts/subset_cjk_font.py
"""

from __future__ import annotations

from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
TARGET = Path(__file__).resolve().parent.parent / "data" / "fonts" / "NotoSansSC-Regular-subset.otf"
RANGES = [
    (0x20, 0x7F),  # ASCII
    (0xA0, 0x100),  # Latin-1 (·, ×)
    (0x2000, 0x2070),  # general punctuation (—, …)
    (0x2E80, 0x2FE0),  # CJK radicals
    (0x3000, 0x3040),  # CJK punctuation (、。「」)
    (0x4E00, 0xA000),  # CJK Unified Ideographs
    (0xFF00, 0xFFF0),  # full-width forms
]
EXTRA = [0x25CB, 0x2713, 0x2717]  # ○ ✓ ✗


def main() -> None:
    collection = TTCollection(str(SOURCE))
    font = next(f for f in collection.fonts if f["name"].getDebugName(4) == "Noto Sans CJK SC")
    options = subset.Options()
    options.layout_features = []
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[u for lo, hi in RANGES for u in range(lo, hi)] + EXTRA)
    subsetter.subset(font)
    font.save(str(TARGET))
    print(f"{TARGET}: {TARGET.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
