"""Synthetic camera snapshots for the lab: a deterministic street-like scene per seed, and the
faulty variants the nightly video-quality check must catch (DOMAIN.md §5).

The scene is drawn once per (seed, size) and cached; each frame adds a moving car and a
timestamp so consecutive frames differ slightly, as a live camera's do. JPEG bytes are cached
per (seed, size, fault, frame position) because the health sweep asks for many snapshots of
the same few scenes.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from functools import lru_cache
from typing import Generic, Literal, TypeVar, get_args

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFilter, ImageFont

SnapshotFault = Literal[
    "black",  # signal loss
    "blank",  # solid colour screen
    "blurred",
    "dark",
    "bright",
    "low_contrast",
    "colour_cast",
    "noisy",  # snow
    "frozen",  # identical bytes on every call: the last frame served before the fault
    "occluded",  # large flat region over part of the scene
    "scene_change",  # the camera now looks at something else
]
SNAPSHOT_FAULTS: tuple[str, ...] = get_args(SnapshotFault)

# The moving car loops over this many positions: enough that consecutive frames always differ,
# few enough that the JPEG cache stays small.
FRAME_CYCLE = 16
JPEG_QUALITY = 85
# Caches are bounded by bytes, not entries: one 1080p scene is 6 MB, one JPEG ~400 KB.
_JPEG_CACHE_BYTES = 64 << 20
_SCENE_CACHE_BYTES = 96 << 20

U8Image = NDArray[np.uint8]


def render_snapshot(seed: int, width: int, height: int, fault: str | None, frame: int) -> bytes:
    """JPEG bytes of camera ``seed`` at ``width``x``height``, frame ``frame``, with ``fault``."""
    if fault is not None and fault not in SNAPSHOT_FAULTS:
        raise ValueError(f"unknown snapshot fault {fault!r}; known: {', '.join(SNAPSHOT_FAULTS)}")
    if width < 16 or height < 16:
        raise ValueError(f"snapshot size {width}x{height} too small (minimum 16x16)")
    key = _cache_key(seed, width, height, fault, frame)
    cached = _jpeg_cache.get(key)
    if cached is not None:
        return cached
    data = _encode(_render_pixels(seed, width, height, fault, key[4]))
    _jpeg_cache.put(key, data, len(data))
    return data


def _cache_key(seed: int, width: int, height: int, fault: str | None, frame: int
               ) -> tuple[int, int, int, str | None, int]:
    position = 0 if fault in ("black", "blank") else frame % FRAME_CYCLE
    return (seed, width, height, fault, position)


def prerender(seeds: range, width: int, height: int) -> dict[tuple[int, int, int, str | None, int], bytes]:
    """Every fault-free frame of the given scenes: what a large lab's workers preload, so the
    scenes are drawn once per lab instead of once per worker process."""
    return {(seed, width, height, None, pos): render_snapshot(seed, width, height, None, pos)
            for seed in seeds for pos in range(FRAME_CYCLE)}


def preload(frames: dict[tuple[int, int, int, str | None, int], bytes]) -> None:
    """Seed the JPEG cache with ``prerender``'s output (the cache grows to hold all of it)."""
    needed = sum(len(v) for v in frames.values())
    _jpeg_cache.budget = max(_jpeg_cache.budget, needed + _JPEG_CACHE_BYTES // 2)
    for key, data in frames.items():
        _jpeg_cache.put(key, data, len(data))


K = TypeVar("K")
V = TypeVar("V")


class _ByteBoundedLru(Generic[K, V]):
    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self.items: OrderedDict[K, tuple[V, int]] = OrderedDict()

    def get(self, key: K) -> V | None:
        hit = self.items.get(key)
        if hit is None:
            return None
        self.items.move_to_end(key)
        return hit[0]

    def put(self, key: K, value: V, size: int) -> None:
        if key in self.items:
            self.used -= self.items.pop(key)[1]
        self.items[key] = (value, size)
        self.used += size
        while self.used > self.budget and len(self.items) > 1:
            self.used -= self.items.popitem(last=False)[1][1]


_jpeg_cache: _ByteBoundedLru[tuple[int, int, int, str | None, int], bytes] = \
    _ByteBoundedLru(_JPEG_CACHE_BYTES)
_scene_cache: _ByteBoundedLru[tuple[int, int, int], Image.Image] = \
    _ByteBoundedLru(_SCENE_CACHE_BYTES)


class SnapshotSource:
    """The snapshot side of one simulated camera: seed, size, current fault, frame counter.

    The ONVIF simulator serves ``jpeg()`` at the camera's snapshot URI; tests and the lab CLI
    flip faults with ``set_fault``.
    """

    def __init__(self, seed: int, width: int = 640, height: int = 360) -> None:
        self.seed = seed
        self.width = width
        self.height = height
        self.fault: str | None = None
        # Pictures served so far and, while frozen, the one each stream repeats — per picture
        # size: the main and the sub stream are separate encoder outputs of the same scene, so
        # a visit that fetches both sees the same moment in each.
        self.frames: dict[tuple[int, int], int] = {}
        self.frozen_at: dict[tuple[int, int], int] = {}

    @property
    def frame(self) -> int:
        """Pictures served at the source's own (main stream) size."""
        return self.frames.get((self.width, self.height), 0)

    def set_fault(self, fault: str | None) -> None:
        if fault is not None and fault not in SNAPSHOT_FAULTS:
            raise ValueError(f"unknown snapshot fault {fault!r}")
        if fault == "frozen" and self.fault != "frozen":
            # A frozen camera keeps showing, on each stream, the last picture it sent there.
            self.frozen_at = {size: max(n - 1, 0) for size, n in self.frames.items()}
        self.fault = fault

    def _next_frame(self, size: tuple[int, int]) -> int:
        return self.frozen_at.get(size, 0) if self.fault == "frozen" else self.frames.get(size, 0)

    def set_size(self, width: int, height: int) -> None:
        """Follow an encoder resolution change made through provisioning."""
        self.width, self.height = width, height

    def jpeg(self, size: tuple[int, int] | None = None) -> bytes:
        """The next frame, at ``size`` (a smaller stream of the same camera) or the source's own."""
        size = size or (self.width, self.height)
        data = render_snapshot(self.seed, *size, self.fault, self._next_frame(size))
        self.frames[size] = self.frames.get(size, 0) + 1
        return data

    def cached_jpeg(self, size: tuple[int, int] | None = None) -> bytes | None:
        """``jpeg()`` when that frame is already rendered, else None (without drawing): the
        server answers from its event loop then, and draws on a thread only on a miss."""
        size = size or (self.width, self.height)
        data = _jpeg_cache.get(_cache_key(self.seed, *size, self.fault, self._next_frame(size)))
        if data is not None:
            self.frames[size] = self.frames.get(size, 0) + 1
        return data


def _encode(pixels: U8Image) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def _render_pixels(seed: int, width: int, height: int, fault: str | None, position: int) -> U8Image:
    if fault == "black":
        return np.zeros((height, width, 3), np.uint8)
    if fault == "blank":
        colours = ((20, 40, 170), (128, 128, 128), (200, 200, 200), (90, 90, 95))
        colour = colours[seed % len(colours)]
        return np.broadcast_to(np.array(colour, np.uint8), (height, width, 3)).copy()
    scene_seed = _scene_change_seed(seed) if fault == "scene_change" else seed
    image = _base_scene(scene_seed, width, height).copy()
    _draw_frame_overlay(image, scene_seed, position)
    if fault in (None, "frozen", "scene_change"):
        return np.asarray(image)
    return _apply_fault(np.asarray(image), fault, seed, position)


def _scene_change_seed(seed: int) -> int:
    # An odd offset flips the layout kind (see _base_scene), so the new view never resembles
    # the baseline by accident.
    return seed + 7919


def _apply_fault(pixels: U8Image, fault: str, seed: int, position: int) -> U8Image:
    h, w = pixels.shape[:2]
    img = pixels.astype(np.float32)
    if fault == "blurred":
        radius = max(2.0, w / 110)
        blurred = Image.fromarray(pixels, "RGB").filter(ImageFilter.GaussianBlur(radius))
        return np.asarray(blurred).copy()
    if fault == "dark":
        img *= 0.25
    elif fault == "bright":  # overexposed: everything washed out towards white
        img = 255.0 - (255.0 - img) * 0.2
    elif fault == "low_contrast":
        mean = img.mean()
        img = mean + (img - mean) * 0.35
    elif fault == "colour_cast":
        # Stuck IR-cut filter / lost white balance: colours washed out and tinted magenta
        # (luma kept, so only the cast is wrong with the picture).
        luma = (img @ np.array([0.299, 0.587, 0.114], np.float32))[:, :, None]
        img = luma + (img - luma) * 0.6 + np.array([45, -35, 35], np.float32)
    elif fault == "noisy":
        # Snow: strong grain a few pixels wide, so it survives reduced-scale decoding.
        grain = max(1, w // 480)
        rng = np.random.default_rng((seed, position, 1))
        snow = rng.normal(0.0, 70.0, ((h + grain - 1) // grain, (w + grain - 1) // grain, 1))
        snow = np.repeat(np.repeat(snow, grain, axis=0), grain, axis=1)[:h, :w]
        img = img * 0.6 + 50 + snow.astype(np.float32)
    elif fault == "occluded":
        # Something stuck over the lens: a flat dark patch over the upper-left ~40 % of the
        # view (the passing car below it still moves, so the picture is not frozen).
        img[: int(h * 0.68), : int(w * 0.6)] = (52, 50, 48)
    return np.clip(img, 0, 255).astype(np.uint8)


@lru_cache(maxsize=8)
def _texture(width: int, height: int) -> NDArray[np.float32]:
    """Fine + medium grain shared by all scenes of a size (rolled per seed), zero mean."""
    rng = np.random.default_rng(12345)
    fine = rng.normal(0.0, 1.0, (height, width)).astype(np.float32)
    coarse_small = rng.normal(0.0, 1.0, (height // 8 + 1, width // 8 + 1)).astype(np.float32)
    coarse = np.asarray(
        Image.fromarray(coarse_small, "F").resize((width, height), Image.Resampling.BILINEAR)
    )
    # Fine grain kept modest: real 1080p snapshots are ~300-500 KB, and entropy decoding
    # time (what the VQD benchmark measures) grows with the file size.
    return (fine * 4.0 + coarse * 9.0).astype(np.float32)


def _base_scene(seed: int, width: int, height: int) -> Image.Image:
    """The static part of camera ``seed``'s view (cached)."""
    scene = _scene_cache.get((seed, width, height))
    if scene is None:
        scene = _draw_base_scene(seed, width, height)
        _scene_cache.put((seed, width, height), scene, width * height * 3)
    return scene


def _draw_base_scene(seed: int, width: int, height: int) -> Image.Image:
    """Two layout kinds (street with sky, top-down plaza) chosen by seed parity; everything
    else varies with the seed."""
    rng = np.random.default_rng(seed)
    w, h = width, height
    ys = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    street = seed % 2 == 0
    if street:
        horizon = int(h * rng.uniform(0.3, 0.45))
        sky_top = np.array(rng.uniform([60, 110, 170], [110, 150, 230]), np.float32)
        sky_low = np.array(rng.uniform([170, 190, 200], [215, 220, 235]), np.float32)
        ground = np.array(rng.uniform([85, 85, 85], [120, 115, 110]), np.float32)
        t = np.clip(ys / max(horizon / h, 1e-3), 0, 1)
        canvas = sky_top * (1 - t) + sky_low * t
        canvas = np.where(ys * h >= horizon, ground * (0.8 + 0.4 * ys), canvas)
    else:
        # Top-down plaza, lit from the bottom of the frame: the opposite luma gradient to a
        # street view, so one never passes for the other.
        horizon = 0
        grey_top = float(rng.uniform(50, 80))
        grey_low = float(rng.uniform(150, 190))
        top = np.array([grey_top, grey_top + 3, grey_top + 6], np.float32)
        low = np.array([grey_low + 4, grey_low, grey_low - 4], np.float32)
        canvas = top * (1 - ys) + low * ys
    canvas = np.broadcast_to(canvas, (h, w, 3)).copy()
    image = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    if street:
        _draw_street(draw, rng, w, h, horizon)
    else:
        _draw_plaza(draw, rng, w, h)
    pixels = np.asarray(image).astype(np.float32)
    texture = np.roll(_texture(w, h), (int(rng.integers(h)), int(rng.integers(w))), axis=(0, 1))
    pixels += texture[:, :, None]
    # Normalise contrast into the range of a well-exposed daytime view (luma std 38-50), so a
    # "normal" scene never sits near the low-contrast threshold by accident of its colours.
    luma = pixels @ np.array([0.299, 0.587, 0.114], np.float32)
    mean, std = float(luma.mean()), float(luma.std())
    pixels = mean + (pixels - mean) * (float(rng.uniform(38.0, 50.0)) / max(std, 1.0))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def _colour(rng: np.random.Generator, low: int, high: int) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in rng.integers(low, high, 3))
    return r, g, b


def _draw_street(draw: ImageDraw.ImageDraw, rng: np.random.Generator, w: int, h: int,
                 horizon: int) -> None:
    x = int(-rng.uniform(0, w * 0.05))
    while x < w:  # a row of buildings with windows along the horizon
        bw = int(w * rng.uniform(0.08, 0.2))
        top = int(horizon * rng.uniform(0.05, 0.7))
        wall = _colour(rng, 60, 200)
        draw.rectangle((x, top, x + bw, horizon), fill=wall)
        win = max(2, bw // 9)
        lit = (min(wall[0] + 60, 255), min(wall[1] + 55, 255), min(wall[2] + 30, 255))
        for wy in range(top + win, horizon - win, win * 2):
            for wx in range(x + win, x + bw - win, win * 2):
                draw.rectangle((wx, wy, wx + win - 1, wy + win - 1),
                               fill=lit if rng.random() < 0.4 else (30, 35, 45))
        x += bw + int(rng.uniform(0, w * 0.03))
    # road in perspective, lane markings, kerbs
    cx = w * rng.uniform(0.35, 0.65)
    road = [(cx - w * 0.04, horizon), (cx + w * 0.04, horizon), (w * 1.1, h), (-w * 0.1, h)]
    draw.polygon(road, fill=_colour(rng, 50, 75))
    steps = 10
    for i in range(0, steps, 2):
        y0 = horizon + (h - horizon) * (i / steps) ** 1.5
        y1 = horizon + (h - horizon) * ((i + 1) / steps) ** 1.5
        half = max(1.0, (y1 - horizon) / (h - horizon) * w * 0.012)
        draw.rectangle((cx - half, y0, cx + half, y1), fill=(225, 225, 215))
    for _ in range(int(rng.integers(4, 9))):  # trees and parked cars
        tx = float(rng.uniform(0, w))
        ty = float(rng.uniform(horizon, h))
        scale = 0.3 + 0.9 * (ty - horizon) / max(h - horizon, 1)
        if rng.random() < 0.5:
            r = w * 0.03 * scale
            draw.ellipse((tx - r, ty - 2 * r, tx + r, ty), fill=_colour(rng, 20, 110))
        else:
            cw, ch = w * 0.08 * scale, h * 0.05 * scale
            draw.rectangle((tx, ty, tx + cw, ty + ch), fill=_colour(rng, 20, 230))
            draw.rectangle((tx + cw * 0.2, ty - ch * 0.5, tx + cw * 0.8, ty),
                           fill=_colour(rng, 30, 90))


def _draw_plaza(draw: ImageDraw.ImageDraw, rng: np.random.Generator, w: int, h: int) -> None:
    tile = max(8, int(w * rng.uniform(0.04, 0.09)))  # paving grid seen from above
    line = (70, 70, 70)
    for gx in range(int(rng.integers(tile)), w, tile):
        draw.line((gx, 0, gx, h), fill=line, width=max(1, w // 640))
    for gy in range(int(rng.integers(tile)), h, tile):
        draw.line((0, gy, w, gy), fill=line, width=max(1, w // 640))
    for _ in range(int(rng.integers(6, 14))):  # planters, benches, kiosks, people
        x0, y0 = float(rng.uniform(0, w)), float(rng.uniform(0, h))
        sw, sh = w * rng.uniform(0.03, 0.15), h * rng.uniform(0.03, 0.2)
        fill = _colour(rng, 10, 245)
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x0 + sw, y0 + sh), fill=fill)
        else:
            draw.rectangle((x0, y0, x0 + sw, y0 + sh), fill=fill)


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _draw_frame_overlay(image: Image.Image, seed: int, position: int) -> None:
    """What changes between frames: a car crossing the view and the on-screen clock."""
    w, h = image.size
    draw = ImageDraw.Draw(image)
    cw, ch = w * 0.12, h * 0.09
    x = (w + cw) * position / FRAME_CYCLE - cw
    y = h * (0.72 + 0.1 * ((seed // 2) % 3) / 2)
    draw.rectangle((x, y, x + cw, y + ch), fill=(235, 235, 225))
    draw.rectangle((x + cw * 0.2, y - ch * 0.6, x + cw * 0.75, y), fill=(20, 22, 30))
    size = max(8, h // 28)
    stamp = f"2025-06-01 08:{position // 60:02d}:{position % 60:02d}  CAM-{seed % 100000:05d}"
    draw.text((size // 2, size // 2), stamp, fill=(255, 255, 255), font=_font(size))
