"""Reading blot images: TIFF (8/16-bit, LZW, deflate, float), PNG, RGB, pixel size, bad files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import tifffile
from PIL import Image

import assaykit.blot as blot
from assaykit.errors import AssaykitWarning, FormatDetectionError, ReaderError
from assaykit.images import BlotImage, detect_polarity
from tests.conftest import shared_path


def _ramp16() -> np.ndarray:
    rng = np.random.default_rng(0)
    a = rng.integers(800, 1200, size=(60, 80)).astype(np.uint16)
    a[20:30, 10:70] += 20000  # a bright band on a dark background
    return a


@pytest.mark.parametrize("compression", [None, "zlib"])
def test_16bit_tiff_round_trip(tmp_path, compression):
    a = _ramp16()
    p = tmp_path / "blot.tif"
    tifffile.imwrite(p, a, compression=compression)
    img = blot.read_image(p)
    assert img.array.dtype == np.uint16 and np.array_equal(img.array, a)
    assert (img.bit_depth, img.polarity, img.saturation, img.white) == (16, "dark", 65535.0, 65535.0)
    assert img.polarity_detected and img.name == "blot.tif" and img.pixel_size is None
    assert not img.array.flags.writeable


def test_lzw_tiff_without_imagecodecs(tmp_path):
    """Pillow writes (and decodes) LZW natively; tifffile alone would need imagecodecs."""
    a = _ramp16()
    p = tmp_path / "lzw.tif"
    Image.fromarray(a).save(p, compression="tiff_lzw")
    assert tifffile.TiffFile(p).pages[0].compression == 5  # really LZW
    img = blot.read_image(p)
    assert np.array_equal(img.array, a) and img.bit_depth == 16


def test_8bit_png_light_background(tmp_path):
    a = np.full((50, 70), 230, np.uint8)
    a[20:26, 5:65] = 40  # a dark band on a light background (film scan)
    p = tmp_path / "film.png"
    Image.fromarray(a).save(p)
    img = blot.read_image(p)
    assert (img.bit_depth, img.polarity, img.saturation, img.white) == (8, "light", 0.0, 255.0)
    assert img.signal()[22, 30] == pytest.approx(215.0)
    assert blot.read_image(p, polarity="dark").polarity == "dark"


def test_16bit_png(tmp_path):
    a = _ramp16()
    p = tmp_path / "b16.png"
    Image.fromarray(a).save(p)
    img = blot.read_image(p)
    assert np.array_equal(img.array, a) and img.bit_depth == 16


def test_rgb_is_converted_with_a_warning(tmp_path):
    grey = _ramp16()
    rgb = np.stack([grey // 257] * 3, axis=-1).astype(np.uint8)
    rgb[..., 0] = np.clip(rgb[..., 0].astype(int) + 10, 0, 255)  # not a plain grey image
    p = tmp_path / "rgb.tif"
    tifffile.imwrite(p, rgb, photometric="rgb")
    with pytest.warns(AssaykitWarning, match=r"rgb.tif: colour \(RGB\) image converted to grey"):
        img = blot.read_image(p)
    expected = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    assert img.array.shape == grey.shape and np.allclose(img.array, expected, atol=1e-3)
    assert img.bit_depth == 8


def test_pixel_size_from_resolution_tags(tmp_path):
    p = tmp_path / "res.tif"
    tifffile.imwrite(p, _ramp16(), resolution=(1000.0, 500.0), resolutionunit="CENTIMETER")
    img = blot.read_image(p)
    assert img.pixel_unit == "um" and img.pixel_size == pytest.approx((10.0, 20.0))


def test_float_tiff(tmp_path):
    a = _ramp16().astype(np.float32) / 7.0
    p = tmp_path / "f.tif"
    tifffile.imwrite(p, a)
    img = blot.read_image(p)
    assert img.bit_depth == 32 and img.array.dtype == np.float32


def test_truncated_tiff_names_the_file(tmp_path):
    p = tmp_path / "cut.tif"
    tifffile.imwrite(p, _ramp16())
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 3])
    with pytest.raises(ReaderError, match=r"cut.tif: cannot decode TIFF image \(truncated or corrupt file\?\)"):
        blot.read_image(p)


def test_truncated_png_names_the_file(tmp_path):
    p = tmp_path / "cut.png"
    Image.fromarray(_ramp16()).save(p)
    p.write_bytes(p.read_bytes()[:200])
    with pytest.raises(ReaderError, match=r"cut.png: cannot decode image"):
        blot.read_image(p)


def test_not_an_image(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("lane,volume\n1,2\n")
    with pytest.raises(FormatDetectionError, match=r"notes.txt: not a recognised blot_image export"):
        blot.read_image(p)
    with pytest.raises(ReaderError, match="file not found"):
        blot.read_image(tmp_path / "missing.tif")


def test_blot_image_contract():
    img = BlotImage.from_array(np.zeros((3, 4), np.uint8), polarity="light")
    assert (img.saturation, img.white, img.shape) == (0.0, 255.0, (3, 4))
    assert img.saturated_mask().all()
    with pytest.raises(ValueError, match="2-D"):
        BlotImage.from_array(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="polarity"):
        BlotImage.from_array(np.zeros((3, 3)), polarity="grey")
    dark = img.with_polarity("dark")
    assert (dark.polarity, dark.saturation) == ("dark", 255.0)


@pytest.mark.shared
@pytest.mark.parametrize("stem", ["synth_blot_A_IkBa_timecourse", "synth_blot_B_p65_fractions"])
def test_corpus_polarity_is_detected(stem):
    img = blot.read_image(shared_path("corpus", "blot", stem + ".tif"))
    truth = pd.read_csv(shared_path("corpus", "blot", stem + "_ground_truth.csv"))
    assert img.polarity == truth["polarity"].iloc[0]
    assert img.bit_depth == 16 and detect_polarity(img.array) == img.polarity


@pytest.mark.shared
def test_real_rgb_figure_reads_as_grey():
    with pytest.warns(AssaykitWarning, match="identical channels"):
        img = blot.read_image(shared_path("corpus", "blot", "real", "pone.0237759.s005.tif"))
    assert img.shape == (4800, 4800) and img.polarity == "light"
