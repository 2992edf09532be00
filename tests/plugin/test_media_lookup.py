"""Finding a clip's video file from its reference, its timeline's folder and the media roots."""

from pathlib import Path

import opentimelineio as otio

from foley_plugin.media import resolve_media, url_to_path
from tests.plugin.otio_builders import span


def make_file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0")
    return path


def clip_with(url: str | None, name: str = "shot") -> otio.schema.Clip:
    reference = otio.schema.ExternalReference(target_url=url) if url is not None else None
    return otio.schema.Clip(name=name, media_reference=reference, source_range=span(0, 24))


def test_file_url_with_percent_escapes(tmp_path):
    movie = make_file(tmp_path / "my clip.mov")
    url = movie.as_uri()
    assert "%20" in url
    lookup = resolve_media(clip_with(url), (), None)
    assert lookup.path == movie
    assert lookup.reason is None


def test_file_url_on_localhost(tmp_path):
    movie = make_file(tmp_path / "a b.mov")
    lookup = resolve_media(clip_with("file://localhost" + movie.as_uri()[len("file://"):]))
    assert lookup.path == movie


def test_relative_path_is_taken_from_the_timeline_folder(tmp_path):
    movie = make_file(tmp_path / "edit" / "media" / "a.mov")
    lookup = resolve_media(clip_with("media/a.mov"), (), tmp_path / "edit" / "cut.otio")
    assert lookup.path == movie


def test_media_root_is_searched_by_the_urls_file_name(tmp_path):
    movie = make_file(tmp_path / "roots" / "day 2" / "shot 1.mov")
    lookup = resolve_media(clip_with("file:///Volumes/gone/shot%201.mov"), [tmp_path / "roots"])
    assert lookup.path == movie


def test_windows_paths_are_searched_by_file_name(tmp_path):
    movie = make_file(tmp_path / "roots" / "a.mov")
    assert resolve_media(clip_with(r"D:\media\a.mov"), [tmp_path / "roots"]).path == movie
    assert url_to_path("file:///D:/media/a.mov") == Path("D:/media/a.mov")


def test_missing_reference_is_searched_by_clip_name(tmp_path):
    movie = make_file(tmp_path / "roots" / "ZZ100_501.mov")
    lookup = resolve_media(clip_with(None, name="ZZ100_501"), [tmp_path / "roots"])
    assert lookup.path == movie


def test_empty_target_url_is_searched_by_clip_name(tmp_path):
    movie = make_file(tmp_path / "roots" / "red.png")
    assert resolve_media(clip_with("", name="red.png"), [tmp_path / "roots"]).path == movie


def test_missing_media_has_a_reason_naming_clip_and_path(tmp_path):
    lookup = resolve_media(clip_with("file:///nowhere/door.mov", name="Door"), [tmp_path])
    assert lookup.path is None
    assert "'Door'" in lookup.reason
    assert "/nowhere/door.mov" in lookup.reason
    assert str(tmp_path) in lookup.reason


def test_missing_reference_without_roots_says_what_to_do():
    lookup = resolve_media(clip_with(None, name="Door"))
    assert lookup.path is None
    assert "'Door'" in lookup.reason and "media root" in lookup.reason


def test_names_cannot_leave_the_media_roots(tmp_path):
    make_file(tmp_path / "secret.mov")
    (tmp_path / "roots").mkdir()
    lookup = resolve_media(clip_with(None, name="../secret.mov"), [tmp_path / "roots"])
    assert lookup.path is None


def test_other_url_schemes_are_not_local_files(tmp_path):
    movie = make_file(tmp_path / "roots" / "remote.mov")
    assert url_to_path("https://example.com/remote.mov") is None
    assert resolve_media(clip_with("https://example.com/remote.mov"), [tmp_path / "roots"]).path == movie
