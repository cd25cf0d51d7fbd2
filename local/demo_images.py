"""``python -m local.demo_images``: draws the demo catalog's product images (db/demo_catalog.sql names them
``/img/<slug>.webp``) into storefront/public/img/, where the storefront serves them.

Run once and commit the output; rerun only to change a drawing. The shop needs real raster images to
exercise what a real catalog's photos go through (next/image, lazy loading, sizes that avoid layout
shift), yet photographs would add hundreds of KB of binary to the repository and a licence to track.
Flat illustrations drawn here are a few KB each as WebP, reproducible from this file (with the Pillow
pinned in requirements-dev.txt), and free of third-party rights.

Each drawing is described on a 100 x 100 canvas, drawn at ``SUPERSAMPLE`` times the output size and
scaled down with a Lanczos filter: that is the anti-aliasing (Pillow's polygon fill has none).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "storefront" / "public" / "img"
SIZE = 480  # px: the product page shows at most 448 CSS px (max-w-md); lines show 56-80
SUPERSAMPLE = 4
QUALITY = 80  # WebP; the flat colours compress to a few KB

Point = tuple[float, float]


class Canvas:
    """A 100 x 100 drawing surface over the supersampled image."""

    def __init__(self, background: str) -> None:
        self.px = SIZE * SUPERSAMPLE
        self.image = Image.new("RGB", (self.px, self.px), background)
        self.draw = ImageDraw.Draw(self.image)

    def _s(self, v: float) -> int:
        return round(v * self.px / 100)

    def _pts(self, points: Sequence[Point]) -> list[tuple[int, int]]:
        return [(self._s(x), self._s(y)) for x, y in points]

    def polygon(self, points: Sequence[Point], fill: str) -> None:
        self.draw.polygon(self._pts(points), fill=fill)

    def ellipse(
        self,
        box: tuple[float, float, float, float],
        fill: str | None = None,
        outline: str | None = None,
        width: float = 0,
    ) -> None:
        x0, y0, x1, y1 = box
        self.draw.ellipse(
            (self._s(x0), self._s(y0), self._s(x1), self._s(y1)), fill=fill, outline=outline, width=self._s(width)
        )

    def rect(self, box: tuple[float, float, float, float], fill: str, radius: float = 0) -> None:
        x0, y0, x1, y1 = box
        self.draw.rounded_rectangle(
            (self._s(x0), self._s(y0), self._s(x1), self._s(y1)), radius=self._s(radius), fill=fill
        )

    def pieslice(self, box: tuple[float, float, float, float], start: float, end: float, fill: str) -> None:
        x0, y0, x1, y1 = box
        self.draw.pieslice((self._s(x0), self._s(y0), self._s(x1), self._s(y1)), start, end, fill=fill)

    def line(self, points: Sequence[Point], fill: str, width: float) -> None:
        self.draw.line(self._pts(points), fill=fill, width=self._s(width), joint="curve")

    def arc(self, box: tuple[float, float, float, float], start: float, end: float, fill: str, width: float) -> None:
        x0, y0, x1, y1 = box
        self.draw.arc((self._s(x0), self._s(y0), self._s(x1), self._s(y1)), start, end, fill=fill, width=self._s(width))

    def shadow(self, cx: float, y: float, w: float, colour: str = "#00000026") -> None:
        """A soft ground shadow under the product (blurred on its own layer)."""
        layer = Image.new("RGBA", self.image.size, (0, 0, 0, 0))
        ImageDraw.Draw(layer).ellipse(
            (self._s(cx - w / 2), self._s(y - 2.5), self._s(cx + w / 2), self._s(y + 2.5)), fill=colour
        )
        layer = layer.filter(ImageFilter.GaussianBlur(self._s(1.5)))
        self.image.paste(layer, (0, 0), layer)

    def save(self, path: Path) -> int:
        small = self.image.resize((SIZE, SIZE), Image.Resampling.LANCZOS)
        small.save(path, "WEBP", quality=QUALITY, method=6)
        return path.stat().st_size


def tshirt(c: Canvas) -> None:
    c.shadow(50, 86, 52)
    body = [
        (35, 20),
        (43, 17),
        (57, 17),
        (65, 20),
        (84, 31),
        (77, 45),
        (68, 40),
        (68, 84),
        (32, 84),
        (32, 40),
        (23, 45),
        (16, 31),
    ]
    c.polygon(body, "#dc2626")
    c.polygon([(68, 40), (68, 84), (60, 84), (64, 42)], "#b91c1c")  # the side in shade
    c.ellipse((42, 13, 58, 23), fill="#fde8e8")  # the neck opening
    c.arc((40, 11, 60, 25), 20, 160, "#991b1b", 1.6)
    c.line([(23, 45), (16, 31)], "#991b1b", 1.2)
    c.line([(77, 45), (84, 31)], "#991b1b", 1.2)


def running_shoes(c: Canvas) -> None:
    c.shadow(50, 74, 70)
    c.polygon(
        [(14, 60), (18, 44), (32, 40), (44, 30), (56, 32), (62, 44), (80, 50), (88, 58), (88, 66), (14, 66)], "#2563eb"
    )
    c.polygon([(44, 30), (56, 32), (58, 40), (46, 40)], "#1e40af")  # the collar
    c.rect((12, 64, 90, 72), "#f8fafc", radius=3.5)  # the sole
    c.line([(12, 68), (90, 68)], "#cbd5e1", 1)
    for x in (40, 46, 52):  # laces
        c.line([(x, 40), (x + 6, 46)], "#f8fafc", 1.6)
    c.line([(22, 56), (40, 52), (62, 58), (80, 58)], "#f59e0b", 2.4)  # the stripe


def coffee_mug(c: Canvas) -> None:
    c.shadow(47, 82, 52)
    c.ellipse((62, 38, 84, 66), outline="#0f766e", width=5)  # the handle
    c.rect((22, 30, 70, 82), "#14b8a6", radius=6)
    c.rect((58, 30, 70, 82), "#0d9488", radius=6)
    c.ellipse((22, 25, 70, 35), fill="#0f766e")
    c.ellipse((25, 26.5, 67, 33.5), fill="#78350f")  # the coffee
    for x in (36, 46, 56):  # steam
        c.arc((x - 4, 8, x + 4, 18), 90, 270, "#94a3b8", 1.5)
        c.arc((x - 4, 16, x + 4, 24), 270, 90, "#94a3b8", 1.5)


def art_poster(c: Canvas) -> None:
    c.shadow(50, 90, 60)
    c.rect((20, 10, 80, 88), "#334155", radius=1)  # the frame
    c.rect((24, 14, 76, 84), "#fef3c7")
    c.ellipse((52, 22, 68, 38), fill="#f97316")  # the sun
    c.polygon([(24, 84), (24, 62), (40, 42), (56, 64), (64, 54), (76, 68), (76, 84)], "#4338ca")
    c.polygon([(24, 84), (24, 72), (44, 60), (60, 74), (76, 70), (76, 84)], "#6366f1")


def hoodie(c: Canvas) -> None:
    c.shadow(50, 88, 56)
    c.polygon(
        [
            (34, 24),
            (66, 24),
            (86, 40),
            (82, 78),
            (72, 78),
            (70, 46),
            (70, 86),
            (30, 86),
            (30, 46),
            (28, 78),
            (18, 78),
            (14, 40),
        ],
        "#16a34a",
    )
    c.ellipse((34, 10, 66, 38), fill="#15803d")  # the hood
    c.ellipse((40, 16, 60, 36), fill="#14532d")
    c.rect((38, 62, 62, 76), "#15803d", radius=3)  # the pocket
    c.line([(46, 36), (45, 50)], "#f8fafc", 1.2)  # drawstrings
    c.line([(54, 36), (55, 50)], "#f8fafc", 1.2)


def cap(c: Canvas) -> None:
    c.shadow(50, 74, 66)
    c.polygon([(50, 66), (90, 66), (84, 72), (52, 72)], "#475569")  # the peak
    c.pieslice((16, 30, 78, 102), 180, 360, "#64748b")  # the crown
    c.arc((16, 30, 78, 102), 230, 310, "#475569", 1.2)
    c.line([(47, 30), (47, 66)], "#475569", 1.2)
    c.ellipse((44, 27, 50, 33), fill="#334155")  # the button


def tote_bag(c: Canvas) -> None:
    c.shadow(50, 88, 58)
    c.arc((36, 6, 72, 54), 180, 360, "#854d0e", 3)  # the handle behind
    c.arc((28, 8, 64, 56), 180, 360, "#a16207", 3)
    c.polygon([(20, 30), (80, 30), (76, 86), (24, 86)], "#fde68a")
    c.polygon([(66, 30), (80, 30), (76, 86), (64, 86)], "#fcd34d")
    c.polygon(
        [(50, 46), (54, 55), (64, 56), (56, 62), (58, 72), (50, 67), (42, 72), (44, 62), (36, 56), (46, 55)], "#7c3aed"
    )  # the members' star


def sneakers(c: Canvas) -> None:
    c.shadow(50, 78, 70)
    c.polygon([(16, 66), (18, 26), (36, 22), (42, 40), (62, 46), (82, 52), (88, 60), (88, 70), (16, 70)], "#111827")
    c.polygon([(18, 26), (36, 22), (40, 34), (20, 38)], "#f43f5e")  # the high top
    c.rect((14, 68, 90, 76), "#f43f5e", radius=3)
    c.polygon([(30, 60), (58, 48), (66, 52), (34, 64)], "#f8fafc")  # the swoosh-less stripe
    for y in (30, 36, 42):
        c.line([(38, y + 4), (44, y + 8)], "#f8fafc", 1.4)


def coffee_bag(c: Canvas, colour: str, shade: str, beans: int) -> None:
    c.polygon([(26, 20), (74, 20), (78, 86), (22, 86)], colour)
    c.polygon([(62, 20), (74, 20), (78, 86), (64, 86)], shade)
    c.rect((24, 14, 76, 22), shade, radius=1.5)  # the folded top
    c.rect((32, 40, 68, 70), "#fffbeb", radius=3)  # the label
    for i in range(beans):
        x = 50 + (i - (beans - 1) / 2) * 10
        c.ellipse((x - 4, 49, x + 4, 61), fill="#78350f")
        c.arc((x - 2, 49, x + 2, 61), 290, 70, "#fffbeb", 0.9)


def monthly_plan(c: Canvas) -> None:
    c.shadow(50, 88, 60)
    coffee_bag(c, "#b45309", "#92400e", 1)


def yearly_plan(c: Canvas) -> None:
    c.shadow(50, 88, 60)
    coffee_bag(c, "#334155", "#1e293b", 3)


# slug -> (background, drawing): the demo catalog's products (db/demo_catalog.sql)
DRAWINGS: dict[str, tuple[str, Callable[[Canvas], None]]] = {
    "classic-t-shirt": ("#fef2f2", tshirt),
    "running-shoes": ("#eff6ff", running_shoes),
    "coffee-mug": ("#f0fdfa", coffee_mug),
    "art-poster": ("#f1f5f9", art_poster),
    "hoodie": ("#f0fdf4", hoodie),
    "retired-cap": ("#f8fafc", cap),
    "members-tote-bag": ("#f5f3ff", tote_bag),
    "limited-sneakers": ("#fff1f2", sneakers),
    "monthly-coffee-plan": ("#fffbeb", monthly_plan),
    "yearly-coffee-plan": ("#f8fafc", yearly_plan),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.demo_images", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for slug, (background, draw) in DRAWINGS.items():
        canvas = Canvas(background)
        draw(canvas)
        size = canvas.save(args.out / f"{slug}.webp")
        print(f"{slug}.webp {size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
