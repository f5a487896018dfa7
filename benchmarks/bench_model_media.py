"""Model media: the image sanitiser against Pillow's bare decode, and likes on one hot model
against likes spread over many.

    python -m benchmarks --only model_media [--quick]
    python -m benchmarks.bench_model_media [--quick] [--no-postgres]

Sanitiser: uploads made here (a 12 MP photo-like JPEG, a 4 MP screenshot-like PNG, a 4 MP
WebP). Ours: PillowImageSanitiser.clean (sniff, decode, orient, sRGB, fit to 2048 px,
re-encode from pixels). Baseline: Image.open + load of the same bytes, the least any
decoder does. Rates in uploads per second, alternating rounds; p50/p95 of ours in notes.
A JPEG decodes at reduced scale (draft), so ours may beat the bare full-size decode.

Likes: THREADS customers at once toggle likes through ModelMedia.toggle_like on a
container (SQLite files, then PostgreSQL when a server is available): all on one model
(hot) against each on a model of their own (spread), alternating rounds. Every toggle is
on the customer's own stream, so the hot model shares no stream: the goal is hot/spread
>= 0.8 toggles per second. After each round both views (likes, catalog) must count
exactly the likes standing (checked, not timed).
"""

from __future__ import annotations

import io
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID, uuid4

from PIL import Image, ImageDraw, ImageFilter

from application.catalog_models import Person
from benchmarks.support import (
    Options,
    PgTarget,
    Result,
    alternating,
    fmt_seconds,
    main_with_postgres,
    section,
)
from domain.catalog_models import CatalogModel, ModelDetails
from infra.bootstrap import Container, bootstrap
from infra.images import PillowImageSanitiser
from infra.settings import Settings

THREADS = 8
GOAL_HOT = 0.8


def photo_jpeg(width: int, height: int) -> bytes:
    """A photo-like JPEG: gradients and grain (no flat areas for the encoder to skip)."""
    grad = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 24)
    channels = (
        Image.blend(grad, noise, 0.35),
        grad.transpose(Image.Transpose.ROTATE_180),
        noise.filter(ImageFilter.BoxBlur(2)),
    )
    out = io.BytesIO()
    Image.merge("RGB", channels).save(out, "JPEG", quality=88)
    return out.getvalue()


def screenshot_png(side: int) -> bytes:
    """A screenshot-like PNG: flat colour, boxes and text."""
    shot = Image.new("RGB", (side, side), "white")
    draw = ImageDraw.Draw(shot)
    for at in range(0, side, 40):
        draw.rectangle([at, at // 2, at + 300, at // 2 + 120], fill=(at % 255, 80, 200))
        draw.text((at, at), "fabledger preview " * 3, fill="black")
    out = io.BytesIO()
    shot.save(out, "PNG")
    return out.getvalue()


def photo_webp(width: int, height: int) -> bytes:
    """A photo-like WebP."""
    out = io.BytesIO()
    Image.open(io.BytesIO(photo_jpeg(width, height))).save(out, "WEBP", quality=85)
    return out.getvalue()


def bare_decode(data: bytes) -> None:
    """The baseline: Pillow reads the whole picture, nothing more."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()


def sanitiser_results(quick: bool) -> list[Result]:
    """Uploads per second of clean() against a bare decode, per format."""
    uploads = {
        "jpeg 12 MP": photo_jpeg(4000, 3000),
        "png 4 MP": screenshot_png(2000),
        "webp 4 MP": photo_webp(2400, 1800),
    }
    sanitiser = PillowImageSanitiser()
    rounds, per_round = (3, 2) if quick else (7, 4)
    results = []
    section(f"Image sanitiser: {rounds} alternating rounds of {per_round} uploads per format")
    for label, data in uploads.items():
        runs: dict[str, Callable[[], object]] = {
            "ours": lambda d=data: sanitiser.clean(d),  # type: ignore[misc]
            "baseline": lambda d=data: bare_decode(d),  # type: ignore[misc]
        }
        seconds: dict[str, list[float]] = {"ours": [], "baseline": []}
        for _, order in alternating(rounds, list(runs)):
            for name in order:
                for _ in range(per_round):
                    started = time.perf_counter()
                    runs[name]()
                    seconds[name].append(time.perf_counter() - started)
        ours, base = seconds["ours"], seconds["baseline"]
        p50, p95 = _percentiles(ours)
        print(
            f"{label}: {len(data) / 1e6:.2f} MB, clean p50 {fmt_seconds(p50)} p95 "
            f"{fmt_seconds(p95)}, bare decode p50 {fmt_seconds(statistics.median(base))}"
        )
        results.append(
            Result(
                "model_media",
                "pillow",
                f"sanitise {label} ({len(data) / 1e6:.1f} MB)",
                1 / statistics.median(ours),
                1 / statistics.median(base),
                note=f"clean p50 {fmt_seconds(p50)}, p95 {fmt_seconds(p95)}",
            )
        )
    return results


def _percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


@contextmanager
def container_on(database_url: str) -> Iterator[Container]:
    """A container on a temp data dir (SQLite files, or the PostgreSQL database given)."""
    with tempfile.TemporaryDirectory(prefix="fabledger-bench-media-") as tmp:
        container = bootstrap(
            Settings(data_dir=Path(tmp), database_url=database_url, jwt_secret="x" * 40)
        )
        try:
            yield container
        finally:
            container.close()


def listed_model(container: Container) -> UUID:
    """A staff-uploaded (listed) model, saved straight to the catalog's log."""
    details = ModelDetails("Lamp", str(uuid4()), "PLA", "Black", None)
    model = CatalogModel.upload(
        uuid4(),
        details,
        owner_id=str(uuid4()),
        owner_role="admin",
        file={"sha256": "0" * 64, "filename": "lamp.stl", "size_bytes": 1},
        mesh={"file_format": "stl"},
        auto_approve_customers=False,
        actor="admin:bench",
    )
    container.catalog.save(model)
    return UUID(str(model.id))


def toggle_round(
    container: Container, models: list[UUID], people: list[Person], toggles: int
) -> tuple[float, list[float], dict[UUID, int]]:
    """Each person toggles `toggles` times on their model, all at once: (seconds,
    latencies, likes standing per model)."""
    start = threading.Barrier(len(people) + 1)
    latencies: list[float] = []
    standing: dict[UUID, int] = {}
    lock = threading.Lock()

    def work(index: int) -> None:
        model, person, mine = models[index % len(models)], people[index], []
        start.wait()
        liked = False
        for _ in range(toggles):
            began = time.perf_counter()
            liked = container.model_media.toggle_like(model, by=person).liked
            mine.append(time.perf_counter() - began)
        with lock:
            latencies.extend(mine)
            standing[model] = standing.get(model, 0) + int(liked)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(people))]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, latencies, standing


def check_counts(container: Container, expected: dict[UUID, int]) -> None:
    """Both views count exactly the likes standing (cumulative over rounds)."""
    for name in ("model_likes", "catalog"):
        container.projections[name].catch_up()
    with container.views.reading() as cur:
        for model, count in expected.items():
            cur.execute("SELECT likes_total FROM model_likes WHERE model_id = ?", (str(model),))
            row = cur.fetchone()
            cur.execute("SELECT likes_total FROM catalog_view WHERE id = ?", (str(model),))
            shown = (int(row[0]) if row else 0, int(cur.fetchone()[0]))
            assert shown == (count, count), (model, shown, count)


def likes_results(backend: str, database_url: str, quick: bool) -> list[Result]:
    """Toggles per second on one hot model against the same spread over THREADS models."""
    rounds, toggles = (3, 25) if quick else (7, 60)
    section(
        f"Likes on {backend}: {THREADS} customers at once, {toggles} toggles each, "
        f"{rounds} alternating rounds"
    )
    with container_on(database_url) as container:
        hot = [listed_model(container)]
        spread = [listed_model(container) for _ in range(THREADS)]
        people = {name: [_person() for _ in range(THREADS)] for name in ("hot", "spread")}
        models = {"hot": hot, "spread": spread}
        rates: dict[str, list[float]] = {"hot": [], "spread": []}
        latencies: dict[str, list[float]] = {"hot": [], "spread": []}
        standing: dict[UUID, int] = {}
        for _, order in alternating(rounds, ["hot", "spread"]):
            for name in order:
                seconds, lat, now = toggle_round(container, models[name], people[name], toggles)
                rates[name].append(THREADS * toggles / seconds)
                latencies[name] += lat
                for model, count in now.items():
                    standing[model] = count  # the same people each round: their state now
                check_counts(container, standing)
    ratios = [h / s for h, s in zip(rates["hot"], rates["spread"], strict=True)]
    p50, p95 = _percentiles(latencies["hot"])
    print(
        f"hot toggle p50 {fmt_seconds(p50)} p95 {fmt_seconds(p95)}; counts exact after every round"
    )
    return [
        Result(
            "model_media",
            backend,
            f"likes: one hot model vs spread ({THREADS} threads)",
            statistics.median(rates["hot"]),
            statistics.median(rates["spread"]),
            unit=" toggles/s",
            goal=GOAL_HOT,
            note=f"hot p50 {fmt_seconds(p50)}, p95 {fmt_seconds(p95)}",
            paired_ratio=statistics.median(ratios),
        )
    ]


def _person() -> Person:
    user_id = str(uuid4())
    return Person(user_id, "user", f"user:{user_id}")


def run(options: Options, pg: PgTarget | None) -> list[Result]:
    """The sanitiser, then likes on SQLite and (when a server is available) PostgreSQL."""
    results = sanitiser_results(options.quick)
    results += likes_results("sqlite", "", options.quick)
    if pg is not None:
        with pg.database("media") as dsn:
            results += likes_results("postgres", dsn, options.quick)
    return results


def main(argv: list[str] | None = None) -> None:
    """python -m benchmarks.bench_model_media [--quick] [--no-postgres] [--pg-dsn URL]."""
    main_with_postgres(__doc__ or "", run, argv)


if __name__ == "__main__":
    main()
