"""Broken and hostile uploads are refused with a reason, quickly, and without side effects."""

from __future__ import annotations

import builtins
import io
import struct
import tempfile
import zipfile
import zlib
from typing import Any

import numpy as np
import pytest
import trimesh

import infra.mesh.geometry
import infra.mesh.stl
from domain.errors import InvalidModelFile
from infra.mesh import TrimeshAnalyzer
from infra.mesh.archive import ArchiveLimits, open_archive
from tests.support.factories import CORPUS

CORE = "http://schemas.microsoft.com/3dmanufacturing/core/2015/02"
PRODUCTION = "http://schemas.microsoft.com/3dmanufacturing/production/2015/06"
RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Target="/3D/3dmodel.model" Id="rel0" '
    'Type="http://schemas.microsoft.com/3dmanufacturing/2013/01/3dmodel"/></Relationships>'
)
TETRAHEDRON = np.array(
    [
        [[0, 0, 0], [0, 1, 0], [1, 0, 0]],
        [[0, 0, 0], [1, 0, 0], [0, 0, 1]],
        [[0, 0, 0], [0, 0, 1], [0, 1, 0]],
        [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
    ],
    dtype=np.float32,
)


@pytest.fixture(scope="module")
def analyzer() -> TrimeshAnalyzer:
    return TrimeshAnalyzer()


@pytest.fixture(scope="module")
def rear_case() -> bytes:
    path = CORPUS / "stl_binary" / "rear_case.stl"
    return path.read_bytes()


def binary_stl(triangles: np.ndarray, header: bytes = b"fabledger test") -> bytes:
    records = np.zeros(len(triangles), dtype=[("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")])
    records["v"] = triangles
    return header.ljust(80, b"\0") + struct.pack("<I", len(triangles)) + records.tobytes()


def refusal(analyzer: TrimeshAnalyzer, data: bytes, filename: str) -> str:
    with pytest.raises(InvalidModelFile) as raised:
        analyzer.analyze(data, filename)
    assert type(raised.value) is InvalidModelFile
    return raised.value.message


def zip_of(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, payload in entries.items():
            archive.writestr(name, payload)
    return buffer.getvalue()


def threemf(model_xml: bytes) -> bytes:
    return zip_of({"_rels/.rels": RELS.encode(), "3D/3dmodel.model": model_xml})


def one_triangle_model(extra_resources: str = "", build: str = '<item objectid="1"/>') -> bytes:
    return (
        f'<model unit="millimeter" xmlns="{CORE}"><resources>'
        '<object id="1"><mesh><vertices><vertex x="0" y="0" z="0"/><vertex x="1" y="0" z="0"/>'
        '<vertex x="0" y="1" z="1"/></vertices><triangles><triangle v1="0" v2="1" v3="2"/>'
        f"</triangles></mesh></object>{extra_resources}</resources><build>{build}</build></model>"
    ).encode()


def declare_sizes(data: bytes, name: bytes, size: int) -> bytes:
    """Rewrite an entry's uncompressed size in both its local and central headers."""
    patched = bytearray(data)
    local = patched.find(b"PK\x03\x04")
    while local >= 0:
        name_length = struct.unpack_from("<H", patched, local + 26)[0]
        if patched[local + 30 : local + 30 + name_length] == name:
            struct.pack_into("<I", patched, local + 22, size)
        local = patched.find(b"PK\x03\x04", local + 4)
    central = patched.find(b"PK\x01\x02")
    while central >= 0:
        name_length = struct.unpack_from("<H", patched, central + 28)[0]
        if patched[central + 46 : central + 46 + name_length] == name:
            struct.pack_into("<I", patched, central + 24, size)
        central = patched.find(b"PK\x01\x02", central + 4)
    return bytes(patched)


@pytest.mark.parametrize("filename", ["a.stl", "a.obj", "a.3mf"])
@pytest.mark.parametrize("data", [b"", b" \r\n\t  \n"])
def test_empty_and_blank_files(analyzer: TrimeshAnalyzer, data: bytes, filename: str) -> None:
    assert refusal(analyzer, data, filename) == "file is empty"


@pytest.mark.parametrize("filename", ["noise.stl", "noise.obj", "noise.3mf"])
@pytest.mark.parametrize("seed", range(5))
def test_random_bytes(analyzer: TrimeshAnalyzer, filename: str, seed: int) -> None:
    size = [1, 83, 84, 4096, 100_000][seed]
    data = np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()

    assert refusal(analyzer, data, filename)


def test_a_png_renamed_to_stl(analyzer: TrimeshAnalyzer) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8

    assert refusal(analyzer, png, "photo.stl") == "file is a PNG image, not an STL model"
    assert refusal(analyzer, png, "photo.3mf") == "file is a PNG image, not a 3MF model"


def test_a_truncated_binary_stl(analyzer: TrimeshAnalyzer, rear_case: bytes) -> None:
    message = refusal(analyzer, rear_case[:-500], "rear_case.stl")

    assert message == (
        "truncated binary STL: header declares 18808 triangles but the file holds 18798"
    )


def test_a_truncated_binary_stl_whose_header_says_solid(analyzer: TrimeshAnalyzer) -> None:
    data = binary_stl(TETRAHEDRON, header=b"solid looks like text")[:-20]

    assert refusal(analyzer, data, "t.stl").startswith("truncated binary STL: header declares 4")


def test_a_binary_stl_with_surplus_bytes(analyzer: TrimeshAnalyzer) -> None:
    data = binary_stl(TETRAHEDRON) + bytes(120)

    assert (
        refusal(analyzer, data, "t.stl")
        == "binary STL has 120 bytes more than its 4 triangles need"
    )


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_coordinates(analyzer: TrimeshAnalyzer, bad: float) -> None:
    triangles = TETRAHEDRON.copy()
    triangles[2, 1, 0] = bad

    message = refusal(analyzer, binary_stl(triangles), "bad.stl")

    assert message == "model has coordinates that are not finite numbers"


def test_non_finite_coordinates_in_ascii_and_obj(analyzer: TrimeshAnalyzer) -> None:
    ascii_stl = b"solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex nan 1 0\n"
    ascii_stl += b"vertex 0 1 1\nendloop\nendfacet\nendsolid x\n"
    obj = b"v 0 0 0\nv 1 0 inf\nv 0 1 0\nv 0 0 1\nf 1 2 3\nf 1 3 4\nf 1 4 2\nf 2 4 3\n"

    assert (
        refusal(analyzer, ascii_stl, "x.stl") == "model has coordinates that are not finite numbers"
    )
    assert refusal(analyzer, obj, "x.obj") == "model has coordinates that are not finite numbers"


def test_coordinates_too_large_to_measure(analyzer: TrimeshAnalyzer) -> None:
    obj = b"v 0 0 0\nv 1e300 0 0\nv 0 1e300 0\nv 0 0 1e300\nf 1 2 3\nf 1 3 4\nf 1 4 2\nf 2 4 3\n"

    assert refusal(analyzer, obj, "far.obj") == "model coordinates are too large to measure"


def test_zero_faces(analyzer: TrimeshAnalyzer) -> None:
    empty_binary = b"solid nothing".ljust(80, b"\0") + struct.pack("<I", 0)

    assert refusal(analyzer, empty_binary, "e.stl") == "model has no triangles"
    assert refusal(analyzer, b"solid x\nendsolid x\n", "e.stl") == "model has no triangles"
    assert refusal(analyzer, b"v 0 0 0\nv 1 0 0\nv 0 1 0\n", "e.obj") == "model has no triangles"


def test_all_degenerate_faces(analyzer: TrimeshAnalyzer) -> None:
    collapsed = np.array([[[0, 0, 0], [0, 0, 0], [1, 1, 1]], [[2, 2, 2], [3, 3, 3], [4, 4, 4]]])

    message = refusal(analyzer, binary_stl(collapsed.astype(np.float32)), "d.stl")

    assert message == "all 2 triangles are degenerate (zero area)"


def test_a_flat_model(analyzer: TrimeshAnalyzer) -> None:
    square = np.array([[[0, 0, 0], [1, 0, 0], [1, 1, 0]], [[0, 0, 0], [1, 1, 0], [0, 1, 0]]])

    message = refusal(analyzer, binary_stl(square.astype(np.float32)), "flat.stl")

    assert message == "model is flat (zero size along Z), so it has no volume"


def test_a_closed_model_with_no_volume(analyzer: TrimeshAnalyzer) -> None:
    # Two faces over the same triangle, back to back: closed, but enclosing nothing.
    face = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 1]], dtype=np.float32)

    message = refusal(analyzer, binary_stl(np.stack([face, face[::-1]])), "pillow.stl")

    assert message == "model encloses no volume"


def test_faces_sharing_two_edges_do_not_hang_the_body_count(analyzer: TrimeshAnalyzer) -> None:
    # The pillow repeats one neighbour in a face's adjacency row; scipy's "strong"
    # component search never returned on that.
    face = np.array([[5, 5, 5], [6, 5, 5], [5, 6, 6]], dtype=np.float32)
    triangles = np.concatenate([TETRAHEDRON, np.stack([face, face[::-1]])])

    summary = analyzer.analyze(binary_stl(triangles), "pillow.stl")

    assert (summary.body_count, summary.is_watertight) == (2, True)


def test_a_text_vertex_that_is_not_a_number(analyzer: TrimeshAnalyzer) -> None:
    data = b"solid x\n  vertex 0 0 zero\n vertex 1 0 0\n vertex 0 1 0\nendsolid\n"

    assert (
        refusal(analyzer, data, "x.stl") == "ASCII STL has a vertex coordinate that is not a number"
    )


def test_blank_lines_do_not_make_the_ascii_scan_quadratic(analyzer: TrimeshAnalyzer) -> None:
    data = b"solid x" + b" \n" * 5_000_000 + b"endsolid x\n"

    assert refusal(analyzer, data, "blank.stl") == "model has no triangles"


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("mtllib materials.mtl", "mtllib materials.mtl"),
        ("MTLLIB ../../etc/passwd", "MTLLIB ../../etc/passwd"),
        ("call other.obj", "call other.obj"),
        ("csh rm -rf /", "csh rm -rf /"),
        ("map_Kd texture.png", "map_Kd texture.png"),
        ("maplib maps.lib", "maplib maps.lib"),
        ("usemtl ../secret/file.mtl", "usemtl ../secret/file.mtl"),
        ("mtl\\\nlib split.mtl", "mtllib split.mtl"),
    ],
)
def test_obj_references_to_other_files(analyzer: TrimeshAnalyzer, line: str, shown: str) -> None:
    box = trimesh.creation.box().export(file_type="obj")
    data = f"{line}\n{box}".encode()

    message = refusal(analyzer, data, "box.obj")

    assert message == f"OBJ files may not reference other files ({shown})"


def test_an_obj_material_name_is_harmless(analyzer: TrimeshAnalyzer) -> None:
    box = trimesh.creation.box().export(file_type="obj")

    summary = analyzer.analyze(f"usemtl red_plastic\n{box}".encode(), "box.obj")

    assert summary.triangle_count == 12


def test_an_obj_face_naming_a_missing_vertex(analyzer: TrimeshAnalyzer) -> None:
    data = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n"

    assert refusal(analyzer, data, "x.obj").startswith("could not parse OBJ file: ")


def test_a_binary_file_named_obj(analyzer: TrimeshAnalyzer, rear_case: bytes) -> None:
    assert refusal(analyzer, rear_case, "rear_case.obj") == "OBJ file is binary data, not text"


def test_a_zip_that_is_not_3mf(analyzer: TrimeshAnalyzer) -> None:
    data = zip_of({"readme.txt": b"hello", "cube.stl": b"solid"})

    message = refusal(analyzer, data, "x.3mf")

    assert message == "not a 3MF file: the archive holds no 3D model part"


def test_a_3mf_that_is_not_a_zip(analyzer: TrimeshAnalyzer, rear_case: bytes) -> None:
    assert refusal(analyzer, rear_case, "x.3mf") == "not a 3MF file: it is not a ZIP archive"


def test_billion_laughs_in_a_3mf_model(analyzer: TrimeshAnalyzer) -> None:
    # lol1 is ten lol0, lol2 ten lol1, ... lol9 expands to 10**9 copies.
    entities = ['<!ENTITY lol0 "lol">']
    entities += [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    doctype = f'<?xml version="1.0"?><!DOCTYPE model [{"".join(entities)}]>'
    model = one_triangle_model().replace(b'unit="millimeter"', b'unit="&lol9;"')

    message = refusal(analyzer, threemf(doctype.encode() + model), "lol.3mf")

    assert message == "3MF part declares a DTD or entities, which are not allowed"


def test_an_external_entity_in_the_relationships(analyzer: TrimeshAnalyzer) -> None:
    rels = RELS.replace(
        "<Relationships",
        '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><Relationships',
    ).replace('Id="rel0"', 'Id="&x;"')
    data = zip_of({"_rels/.rels": rels.encode(), "3D/3dmodel.model": one_triangle_model()})

    assert refusal(analyzer, data, "xxe.3mf") == (
        "3MF part declares a DTD or entities, which are not allowed"
    )


def test_a_utf16_model_cannot_hide_a_doctype(analyzer: TrimeshAnalyzer) -> None:
    model = '<?xml version="1.0" encoding="UTF-16"?>' + one_triangle_model().decode()

    message = refusal(analyzer, threemf(model.encode("utf-16")), "u.3mf")

    assert message == "3MF part is not UTF-8 XML"


def test_a_3mf_zip_bomb(analyzer: TrimeshAnalyzer) -> None:
    data = zip_of({"_rels/.rels": RELS.encode(), "3D/3dmodel.model": bytes(20 * 1024 * 1024)})
    assert len(data) < 100_000

    message = refusal(analyzer, data, "bomb.3mf")

    assert message.startswith("3MF entry '3D/3dmodel.model' is compressed ")
    assert message.endswith(":1 (limit 100:1), which looks like a zip bomb")


def test_a_3mf_entry_declaring_a_huge_size(analyzer: TrimeshAnalyzer) -> None:
    data = declare_sizes(threemf(one_triangle_model()), b"3D/3dmodel.model", 2**31)

    message = refusal(analyzer, data, "huge.3mf")

    assert message == "3MF entry '3D/3dmodel.model' would unpack to 2048 MB; the limit is 250 MB"


def test_a_3mf_entry_lying_about_its_size_is_read_no_further(analyzer: TrimeshAnalyzer) -> None:
    honest = threemf(one_triangle_model(extra_resources="<!-- padding -->" * 1000))
    data = declare_sizes(honest, b"3D/3dmodel.model", 200)

    message = refusal(analyzer, data, "liar.3mf")

    assert message.startswith("3MF archive is corrupt: Bad CRC-32")


def test_a_3mf_with_too_many_entries(analyzer: TrimeshAnalyzer) -> None:
    entries = {f"Metadata/{i}.txt": b"" for i in range(1001)}

    message = refusal(analyzer, zip_of(entries), "many.3mf")

    assert message == "3MF archive has too many entries (1001; the limit is 1000)"


def test_the_total_declared_size_of_an_archive_is_capped() -> None:
    chunk = np.random.default_rng(0).integers(0, 256, 2 * 1024 * 1024, dtype=np.uint8).tobytes()
    data = zip_of({"a": chunk, "b": chunk}, method=zipfile.ZIP_STORED)

    with pytest.raises(InvalidModelFile, match="would unpack to 4 MB; the limit is 3 MB"):
        open_archive(data, ArchiveLimits(max_unpacked_bytes=3 * 1024 * 1024))


def test_exotic_zip_compression_is_refused(analyzer: TrimeshAnalyzer) -> None:
    data = zip_of({"_rels/.rels": RELS.encode()}, method=zipfile.ZIP_BZIP2)

    message = refusal(analyzer, data, "b.3mf")

    assert message == "3MF entry '_rels/.rels' uses an unsupported compression method"


def test_malformed_3mf_xml(analyzer: TrimeshAnalyzer) -> None:
    message = refusal(analyzer, threemf(one_triangle_model()[:-20]), "cut.3mf")

    assert message.startswith("3MF model part is not well-formed XML")


def test_a_3mf_triangle_naming_a_missing_vertex(analyzer: TrimeshAnalyzer) -> None:
    model = one_triangle_model().replace(b'v3="2"', b'v3="7"')

    message = refusal(analyzer, threemf(model), "v.3mf")

    assert message == "3MF object 1 has a triangle referring to a missing vertex"


def test_3mf_components_in_a_cycle(analyzer: TrimeshAnalyzer) -> None:
    loop = (
        '<object id="2"><components><component objectid="3"/></components></object>'
        '<object id="3"><components><component objectid="2"/></components></object>'
    )
    model = one_triangle_model(loop, '<item objectid="2"/>')

    assert refusal(analyzer, threemf(model), "c.3mf") == (
        "3MF components refer to each other in a cycle"
    )


def test_a_3mf_component_bomb_is_refused_before_expansion(analyzer: TrimeshAnalyzer) -> None:
    levels = "".join(
        f'<object id="{level}"><components>'
        + f'<component objectid="{level - 1}"/>' * 10
        + "</components></object>"
        for level in range(2, 12)
    )
    model = one_triangle_model(levels, '<item objectid="11"/>')

    message = refusal(analyzer, threemf(model), "b.3mf")

    assert message == "3MF build expands to 10000000000 triangles; the limit is 5000000"


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            one_triangle_model(build='<item objectid="9"/>'),
            "3MF build refers to a missing object 9",
        ),
        (
            one_triangle_model(build='<item objectid="1" p:path="/3D/other.model" />').replace(
                b"<model ", f'<model xmlns:p="{PRODUCTION}" '.encode()
            ),
            "3MF model refers to a missing part '/3D/other.model'",
        ),
        (
            one_triangle_model().replace(b'unit="millimeter"', b'unit="furlong"'),
            "3MF unit 'furlong' is not one the specification allows",
        ),
        (
            one_triangle_model(build='<item objectid="1" transform="1 0 0"/>'),
            "3MF transform must hold 12 numbers",
        ),
    ],
)
def test_3mf_references_that_lead_nowhere(
    analyzer: TrimeshAnalyzer, model: bytes, message: str
) -> None:
    assert refusal(analyzer, threemf(model), "r.3mf") == message


def test_the_triangle_limit_covers_every_3mf_part() -> None:
    path = CORPUS / "3mf" / "Moon.3mf"

    message = refusal(TrimeshAnalyzer(max_faces=100), path.read_bytes(), "Moon.3mf")

    assert message == "model has more than 100 triangles"


def test_a_3mf_without_build_items(analyzer: TrimeshAnalyzer) -> None:
    model = one_triangle_model(build="")

    assert refusal(analyzer, threemf(model), "n.3mf") == "3MF build has no items to print"


def test_unexpected_parser_failures_become_refusals(
    analyzer: TrimeshAnalyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_: Any) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(infra.mesh.stl, "_parse_binary", explode)

    message = refusal(analyzer, binary_stl(TETRAHEDRON), "t.stl")

    assert message == "could not parse STL file: 'boom'"


def test_running_out_of_memory_is_reported_not_swallowed(
    analyzer: TrimeshAnalyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def exhaust(*_: Any) -> None:
        raise MemoryError

    monkeypatch.setattr(infra.mesh.geometry, "analyze_topology", exhaust)

    assert refusal(analyzer, binary_stl(TETRAHEDRON), "t.stl") == "model too complex"


def test_analysis_never_touches_the_file_system(
    analyzer: TrimeshAnalyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = trimesh.creation.box()
    uploads = {
        "t.stl": binary_stl(TETRAHEDRON),
        "b.obj": box.export(file_type="obj"),
        "b.3mf": box.export(file_type="3mf"),
    }

    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"file system access: {args!r}")

    monkeypatch.setattr(builtins, "open", forbidden)
    monkeypatch.setattr(io, "open", forbidden)
    monkeypatch.setattr(tempfile, "mkstemp", forbidden)
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", forbidden)
    for name, data in uploads.items():
        payload = data.encode() if isinstance(data, str) else data
        assert analyzer.analyze(payload, name).triangle_count in (4, 12)


def test_a_dense_ascii_stream_is_scanned_in_bounded_chunks(analyzer: TrimeshAnalyzer) -> None:
    facet = b"vertex 0 0 0\nvertex 1 0 0\nvertex 0 1 0\n"
    data = b"solid x\n" + facet * 200_000  # 7.6 MB: two chunks of the scan

    message = refusal(analyzer, data, "dense.stl")

    assert message == "model is flat (zero size along Z), so it has no volume"


def test_raw_deflate_garbage_inside_a_3mf(analyzer: TrimeshAnalyzer) -> None:
    data = bytearray(threemf(one_triangle_model() * 50))
    start = data.find(b"3D/3dmodel.model") + len(b"3D/3dmodel.model")
    data[start + 10 : start + 60] = zlib.compress(b"x")[:50].ljust(50, b"\xff")

    assert refusal(analyzer, bytes(data), "garbage.3mf").startswith("3MF archive is corrupt: ")
