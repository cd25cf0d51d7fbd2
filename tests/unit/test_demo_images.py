"""The demo catalog's images (db/demo_catalog.sql) are files the storefront serves, small, and what
``python -m local.demo_images`` draws: a changed drawing not regenerated, or a product added to the
catalog without one, fails here rather than as a broken image in the shop."""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image, ImageChops, ImageStat

from local import demo_images

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = ROOT / "storefront" / "public"
CATALOG = (ROOT / "db" / "demo_catalog.sql").read_text()
# (slug, image_url) of every demo product row: '<slug>', '<image_url>' follow the name
ROWS = re.findall(r"'[^']*(?:''[^']*)*', '([a-z0-9-]+)', '(/img/[^']+)'", CATALOG)
MAX_BYTES = 8 * 1024


def test_given_the_demo_catalog_then_every_product_names_its_own_image_by_slug() -> None:
    assert len(ROWS) == CATALOG.count("('00000000-0000-4000-8000-")  # every product row was read
    assert {url for _, url in ROWS} == {f"/img/{slug}.webp" for slug, _ in ROWS}
    assert {slug for slug, _ in ROWS} == set(demo_images.DRAWINGS)


def test_given_each_image_then_it_is_a_small_square_webp_of_the_drawn_size() -> None:
    for _, url in ROWS:
        path = PUBLIC / url.lstrip("/")
        assert path.stat().st_size <= MAX_BYTES, url
        with Image.open(path) as image:
            assert (image.format, image.size) == ("WEBP", (demo_images.SIZE, demo_images.SIZE)), url


def test_given_the_generator_when_rerun_then_it_draws_the_committed_images(tmp_path: Path) -> None:
    assert demo_images.main(["--out", str(tmp_path)]) == 0
    for slug in demo_images.DRAWINGS:
        with Image.open(PUBLIC / "img" / f"{slug}.webp") as committed, Image.open(tmp_path / f"{slug}.webp") as drawn:
            # decoded pixels, not bytes: another libwebp may encode the same picture differently
            difference = ImageStat.Stat(ImageChops.difference(committed.convert("RGB"), drawn.convert("RGB")))
            assert max(difference.mean) < 2, slug
