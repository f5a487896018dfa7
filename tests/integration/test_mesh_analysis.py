"""The mesh adapter measures real models (numpy-stl's corpus) the way trimesh does."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import trimesh

from domain.errors import FileTooLarge, InvalidModelFile
from domain.models import MeshSummary
from infra.mesh import TrimeshAnalyzer
from tests.support.factories import CORPUS

CORE = "http://schemas.microsoft.com/3dmanufacturing/core/2015/02"

# The reference table of shared/corpus/README.md (trimesh 5.2.0; volume in mm3).
REFERENCE = {
    "stl_binary/Cube.stl": (12, 1, True, 8.00, (2.0, 2.0, 2.0)),
    "stl_binary/rear_case.stl": (18808, 1, True, 38229.94, (88.0, 22.3, 101.0)),
    "stl_tests/bwb.stl": (4464, 1, True, 1103.57, (30.0, 6.0, 46.5)),
    "3mf/Moon.3mf": (184, 2, True, 37777.46, (113.4, 76.2, 8.9)),
    "stl_tests/triamid.stl": (10, 1, True, 2.67, (4.0, 4.0, 4.0)),
}


@pytest.fixture(scope="module")
def corpus() -> Path:
    return CORPUS


@pytest.fixture(scope="module")
def analyzer() -> TrimeshAnalyzer:
    return TrimeshAnalyzer()


def analyze_file(analyzer: TrimeshAnalyzer, path: Path) -> MeshSummary:
    return analyzer.analyze(path.read_bytes(), path.name)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_reference_models_match_the_published_figures(
    corpus: Path, analyzer: TrimeshAnalyzer, name: str
) -> None:
    faces, bodies, watertight, volume_mm3, extents = REFERENCE[name]

    summary = analyze_file(analyzer, corpus / name)

    assert summary.triangle_count == faces
    assert summary.body_count == bodies
    assert summary.is_watertight is watertight
    assert summary.volume_cm3 * 1000 == pytest.approx(volume_mm3, rel=0.005)
    measured = (summary.dim_x_mm, summary.dim_y_mm, summary.dim_z_mm)
    assert measured == pytest.approx(extents, abs=0.1)


def corpus_files() -> list[str]:
    meshes = (p for p in CORPUS.rglob("*") if p.suffix.lower() in {".stl", ".obj", ".3mf"})
    return sorted(str(p.relative_to(CORPUS)) for p in meshes)


@pytest.mark.parametrize("name", corpus_files())
def test_every_corpus_file_analyses_like_trimesh(
    corpus: Path, analyzer: TrimeshAnalyzer, name: str
) -> None:
    path = corpus / name
    data = path.read_bytes()
    if name == "stl_binary/HalfDonut.stl":
        data = data[:-1]  # trimesh refuses the stray trailing byte that we tolerate
    expected = trimesh.load(io.BytesIO(data), file_type=path.suffix[1:], force="mesh")
    assert isinstance(expected, trimesh.Trimesh)

    summary = analyze_file(analyzer, path)

    assert summary.file_format == path.suffix[1:].lower()
    assert summary.triangle_count == len(expected.faces)
    assert summary.body_count == len(expected.split(only_watertight=False))
    assert summary.is_watertight is expected.is_watertight
    assert summary.volume_cm3 == pytest.approx(abs(expected.volume) / 1000, rel=1e-6)
    assert summary.surface_area_cm2 == pytest.approx(expected.area / 100, rel=1e-6)
    measured = (summary.dim_x_mm, summary.dim_y_mm, summary.dim_z_mm)
    assert measured == pytest.approx(tuple(expected.extents), rel=1e-6)


@pytest.mark.parametrize(
    ("ascii_name", "binary_name"),
    [
        ("stl_ascii/Cube.stl", "stl_binary/Cube.stl"),
        ("stl_ascii/HalfDonut.stl", "stl_binary/HalfDonut.stl"),
        ("stl_ascii/Moon.stl", "stl_binary/Moon.stl"),
        ("stl_ascii/Star.stl", "stl_binary/Star.stl"),
        ("stl_ascii/Star.stl", "stl_binary/StarWithEmptyHeader.stl"),
        ("stl_ascii/Cube.stl", "stl_binary/CubeInvalidUnicode.stl"),
        ("stl_tests/dos.stl", "stl_binary/Moon.stl"),
        ("stl_tests/unix.stl", "stl_binary/Moon.stl"),
        ("stl_ascii/Moon_Chinese.stl", "stl_binary/Moon.stl"),
    ],
)
def test_ascii_and_binary_variants_agree(
    corpus: Path, analyzer: TrimeshAnalyzer, ascii_name: str, binary_name: str
) -> None:
    from_ascii = analyze_file(analyzer, corpus / ascii_name)
    from_binary = analyze_file(analyzer, corpus / binary_name)

    assert from_ascii.triangle_count == from_binary.triangle_count
    assert from_ascii.body_count == from_binary.body_count
    assert from_ascii.is_watertight == from_binary.is_watertight
    # ASCII keeps the printed decimals while binary rounds them to float32.
    assert from_ascii.volume_cm3 == pytest.approx(from_binary.volume_cm3, rel=1e-5)
    assert from_ascii.surface_area_cm2 == pytest.approx(from_binary.surface_area_cm2, rel=1e-5)
    assert from_ascii.dim_z_mm == pytest.approx(from_binary.dim_z_mm, rel=1e-5)


def test_a_binary_stl_with_one_trailing_byte_is_accepted(
    corpus: Path, analyzer: TrimeshAnalyzer
) -> None:
    path = corpus / "stl_binary/HalfDonut.stl"
    assert (path.stat().st_size - 84) % 50 == 1

    assert analyze_file(analyzer, path).triangle_count == 288


def test_the_extension_decides_the_format_whatever_its_case(
    corpus: Path, analyzer: TrimeshAnalyzer
) -> None:
    data = (corpus / "stl_binary/Cube.stl").read_bytes()

    assert analyzer.analyze(data, "CUBE.STL").file_format == "stl"
    assert analyzer.analyze(data, "C:\\models\\cube.Stl").triangle_count == 12


def test_the_summary_holds_plain_python_values(corpus: Path, analyzer: TrimeshAnalyzer) -> None:
    summary = analyze_file(analyzer, corpus / "3mf/Moon.3mf")

    assert MeshSummary.from_dict(summary.to_dict()) == summary
    assert all(type(v) in (str, int, float, bool) for v in summary.to_dict().values())


def test_a_box_exported_by_trimesh_as_obj(analyzer: TrimeshAnalyzer) -> None:
    data = trimesh.creation.box(extents=(10, 20, 30)).export(file_type="obj").encode()

    summary = analyzer.analyze(data, "box.obj")

    assert summary == MeshSummary("obj", 10.0, 20.0, 30.0, 6.0, 22.0, 12, 1, True)


def test_an_obj_with_two_boxes_has_two_bodies(analyzer: TrimeshAnalyzer) -> None:
    left = trimesh.creation.box(extents=(10, 10, 10))
    right = trimesh.creation.box(extents=(10, 10, 10))
    right.apply_translation((20, 0, 0))
    pair = trimesh.util.concatenate([left, right])
    assert isinstance(pair, trimesh.Trimesh)
    data = str(pair.export(file_type="obj")).encode()

    summary = analyzer.analyze(data, "pair.obj")

    assert (summary.body_count, summary.triangle_count, summary.is_watertight) == (2, 24, True)
    assert summary.volume_cm3 == pytest.approx(2.0)
    assert summary.dim_x_mm == pytest.approx(30.0)


def test_obj_objects_groups_quads_and_crlf_are_one_mesh(analyzer: TrimeshAnalyzer) -> None:
    cube = [f"v {x} {y} {z}" for x in (0, 1) for y in (0, 1) for z in (0, 1)]
    quads = ["f 1 3 4 2", "f 5 6 8 7", "f 1 2 6 5", "f 3 7 8 4", "f 1 5 7 3", "f 2 4 8 6"]
    lines = ["# two objects", "o first", *cube, "g sides", *quads]
    lines += ["o second", *[f"v {x + 5} {y} {z}" for x in (0, 1) for y in (0, 1) for z in (0, 1)]]
    lines += [" ".join(["f", *(str(int(i) + 8) for i in q.split()[1:])]) for q in quads]
    data = "\r\n".join(lines).encode()

    summary = analyzer.analyze(data, "cubes.obj")

    assert (summary.triangle_count, summary.body_count, summary.is_watertight) == (24, 2, True)
    assert summary.volume_cm3 == pytest.approx(0.002)


def make_3mf(model_xml: str, extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Target="/3D/3dmodel.model" Id="rel0" '
            'Type="http://schemas.microsoft.com/3dmanufacturing/2013/01/3dmodel"/>'
            "</Relationships>",
        )
        archive.writestr("3D/3dmodel.model", model_xml)
        for name, payload in (extra or {}).items():
            archive.writestr(name, payload)
    return buffer.getvalue()


def cube_object(object_id: int, size: float = 10.0) -> str:
    box = trimesh.creation.box(extents=(size, size, size))
    vertices = "".join(f'<vertex x="{x}" y="{y}" z="{z}"/>' for x, y, z in box.vertices)
    triangles = "".join(f'<triangle v1="{a}" v2="{b}" v3="{c}"/>' for a, b, c in box.faces)
    return (
        f'<object id="{object_id}" type="model"><mesh><vertices>{vertices}</vertices>'
        f"<triangles>{triangles}</triangles></mesh></object>"
    )


def model(resources: str, build: str, unit: str = "millimeter") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><model unit="{unit}" xmlns="{CORE}" '
        'xmlns:p="http://schemas.microsoft.com/3dmanufacturing/production/2015/06">'
        f"<resources>{resources}</resources><build>{build}</build></model>"
    )


def test_3mf_items_and_components_are_placed_by_their_transforms(
    analyzer: TrimeshAnalyzer,
) -> None:
    assembly = (
        '<object id="2" type="model"><components>'
        '<component objectid="1"/>'
        '<component objectid="1" transform="1 0 0 0 1 0 0 0 1 20 0 0"/>'
        "</components></object>"
    )
    build = '<item objectid="2" transform="2 0 0 0 1 0 0 0 1 0 0 100"/>'

    summary = analyzer.analyze(make_3mf(model(cube_object(1) + assembly, build)), "a.3mf")

    # Each cube is stretched to 20 x 10 x 10 and the second moved 40 mm along x.
    assert (summary.triangle_count, summary.body_count) == (24, 2)
    assert (summary.dim_x_mm, summary.dim_y_mm, summary.dim_z_mm) == pytest.approx((60, 10, 10))
    assert summary.volume_cm3 == pytest.approx(4.0)


def test_a_mirrored_3mf_item_adds_volume(analyzer: TrimeshAnalyzer) -> None:
    build = '<item objectid="1"/><item objectid="1" transform="-1 0 0 0 1 0 0 0 1 50 0 0"/>'

    summary = analyzer.analyze(make_3mf(model(cube_object(1), build)), "m.3mf")

    assert summary.volume_cm3 == pytest.approx(2.0)
    assert summary.is_watertight


def test_3mf_units_are_converted_to_millimetres(analyzer: TrimeshAnalyzer) -> None:
    data = make_3mf(model(cube_object(1, size=1.0), '<item objectid="1"/>', unit="inch"))

    summary = analyzer.analyze(data, "inch.3mf")

    assert summary.dim_x_mm == pytest.approx(25.4)
    assert summary.volume_cm3 == pytest.approx(25.4**3 / 1000)


def test_3mf_objects_in_other_parts_are_followed(analyzer: TrimeshAnalyzer) -> None:
    part = model(cube_object(7), "")
    root = model(
        '<object id="1" type="model"><components>'
        '<component objectid="7" p:path="/3D/Objects/cube.model"/>'
        "</components></object>",
        '<item objectid="1"/>',
    )

    summary = analyzer.analyze(make_3mf(root, {"3D/Objects/cube.model": part.encode()}), "p.3mf")

    assert (summary.triangle_count, summary.volume_cm3) == (12, pytest.approx(1.0))


def test_a_3mf_written_by_trimesh(analyzer: TrimeshAnalyzer) -> None:
    data = trimesh.creation.box(extents=(10, 20, 30)).export(file_type="3mf")

    summary = analyzer.analyze(data, "box.3mf")

    assert (summary.triangle_count, summary.body_count, summary.is_watertight) == (12, 1, True)
    assert summary.volume_cm3 == pytest.approx(6.0)


def test_the_size_limit_is_checked_first(analyzer: TrimeshAnalyzer) -> None:
    with pytest.raises(FileTooLarge, match=r"^file is larger than the 50 MB limit$"):
        analyzer.analyze(bytes(50 * 1024 * 1024 + 1), "huge.stl")
    with pytest.raises(FileTooLarge, match=r"^file is larger than the 2 MB limit$"):
        TrimeshAnalyzer(max_bytes=2 * 1024 * 1024).analyze(bytes(3 * 1024 * 1024), "a.3mf")


@pytest.mark.parametrize("filename", ["model.xyz", "model.stl.zip", "model.STEP"])
def test_other_file_types_are_refused(analyzer: TrimeshAnalyzer, filename: str) -> None:
    suffix = Path(filename).suffix.lower()
    message = f"unsupported file type '{suffix}'; accepted: .stl, .obj, .3mf"

    with pytest.raises(InvalidModelFile) as refusal:
        analyzer.analyze(b"solid x", filename)

    assert refusal.value.message == message


def test_a_name_without_extension_is_refused(analyzer: TrimeshAnalyzer) -> None:
    with pytest.raises(InvalidModelFile, match=r"no extension; accepted: \.stl, \.obj, \.3mf$"):
        analyzer.analyze(b"solid x", "model")


def test_the_triangle_limit_is_enforced(corpus: Path) -> None:
    data = (corpus / "stl_binary/rear_case.stl").read_bytes()

    with pytest.raises(InvalidModelFile, match="model has 18808 triangles; the limit is 1000"):
        TrimeshAnalyzer(max_faces=1000).analyze(data, "rear_case.stl")


def test_a_large_binary_stl_is_fast_enough(analyzer: TrimeshAnalyzer) -> None:
    sphere = trimesh.creation.icosphere(subdivisions=6)  # 81,920 faces
    data = sphere.export(file_type="stl")

    summary = analyzer.analyze(data, "sphere.stl")

    assert (summary.triangle_count, summary.body_count, summary.is_watertight) == (81920, 1, True)
    assert summary.volume_cm3 * 1000 == pytest.approx(sphere.volume, rel=1e-6)
    assert np.isclose(summary.surface_area_cm2 * 100, sphere.area)
