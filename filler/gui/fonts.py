"""Pick a font that has Chinese glyphs; Tk's default font shows boxes for 汉字 on many systems."""
from __future__ import annotations

# First available wins. Noto Sans CJK is what the Linux build and the tests use
# (Debian: fonts-noto-cjk); Windows has Microsoft YaHei since Vista and SimSun since always (XP).
PREFERRED_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Microsoft YaHei",
    "Microsoft YaHei UI",
    "SimHei",
    "SimSun",
    "PingFang SC",
    "WenQuanYi Micro Hei",
    "Noto Serif CJK SC",
)
DEFAULT_SIZE = 11


def available_families() -> set:
    import tkinter
    import tkinter.font

    root = tkinter.Tk()
    root.withdraw()
    try:
        return set(tkinter.font.families(root))
    finally:
        root.destroy()


def choose_family(families=None):
    """The first preferred family that is installed, or None (Tk's default then)."""
    families = available_families() if families is None else set(families)
    for family in PREFERRED_FAMILIES:
        if family in families:
            return family
    return None
