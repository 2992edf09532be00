import pytest

from foley_engine.data.copyright import parse_copyright
from foley_engine.data.debian import source_candidates
from foley_engine.data.licences import judge_licence

COPYRIGHT = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: Minetest
Files-Excluded:
  lib/gmp

Files: *
Copyright: 2010-2022, celeron55
License: LGPL-2.1+

Files: *.ogg
       *.png
Copyright: 2010-2016, celeron55
           2011-2012, Kahrl
License: CC-BY-SA-3.0
Comment:
 Sounds and textures.

Files: mtg/mods/doors/sounds/*
Copyright: 2014, CGEffex
License: CC-BY-3.0

Files:
 mtg/mods/doors/sounds/doors_glass_door_open.ogg
 mtg/mods/tnt/sounds/*
Copyright: no-copyright
License: CC0-1.0
 See /usr/share/common-licenses/CC0-1.0 for further information.

License: LGPL-2.1+
 Full text.
"""


@pytest.mark.parametrize(
    ("expression", "allowed", "copyleft"),
    [
        ("CC0-1.0", True, False),
        ("CC0", True, False),
        ("public-domain", True, False),
        ("CC-BY-3.0", True, False),
        ("CC-BY-SA-3.0", True, True),
        ("MIT", True, False),
        ("Expat", True, False),
        ("GPL-2+", True, True),
        ("GPL-2+ or CDDL", True, True),
        ("GPL-2+ or MIT", True, False),
        ("CC-BY-NC-4.0", False, False),
        ("CC-BY-NC-SA-3.0", False, False),
        ("CC-BY-ND-4.0", False, False),
        ("MIT and CC-BY-NC-3.0", False, False),
        ("cryptsoft-License", False, False),
        ("", False, False),
    ],
)
def test_licence_policy(expression: str, allowed: bool, copyleft: bool) -> None:
    verdict = judge_licence(expression)
    assert (verdict.allowed, verdict.copyleft) == (allowed, copyleft)
    assert bool(verdict.reason) == (not allowed)


def test_non_commercial_reason_is_named() -> None:
    assert "non-commercial" in judge_licence("CC-BY-NC-4.0").reason
    assert "no derivatives" in judge_licence("CC-BY-ND-4.0").reason
    assert "unknown" in judge_licence("Proprietary").reason


def test_the_last_matching_stanza_wins() -> None:
    parsed = parse_copyright(COPYRIGHT)
    assert parsed.upstream_name == "Minetest"
    assert [stanza.licence for stanza in parsed.stanzas] == ["LGPL-2.1+", "CC-BY-SA-3.0", "CC-BY-3.0", "CC0-1.0"]
    assert parsed.stanzas[1].copyright == "2010-2016, celeron55; 2011-2012, Kahrl"

    def licence(installed: str) -> str:
        stanza = parsed.match(source_candidates("minetest-data", installed))
        return stanza.licence if stanza else "none"

    games = "usr/share/games/minetest/games/minetest_game/mods"
    assert licence(f"{games}/default/sounds/default_wood_footstep.1.ogg") == "CC-BY-SA-3.0"
    assert licence(f"{games}/doors/sounds/doors_door_close.ogg") == "CC-BY-3.0"
    assert licence(f"{games}/doors/sounds/doors_glass_door_open.ogg") == "CC0-1.0"
    assert licence(f"{games}/tnt/sounds/tnt_explode.ogg") == "CC0-1.0"
    assert licence("usr/share/games/minetest/builtin/init.lua") == "LGPL-2.1+"


def test_patterns_escape_and_do_not_treat_brackets_as_classes() -> None:
    parsed = parse_copyright("Files: a[1].ogg b\\*.ogg c?.ogg\nCopyright: x\nLicense: MIT\n")
    assert parsed.match(["a[1].ogg"]) is not None
    assert parsed.match(["a1.ogg"]) is None
    assert parsed.match(["b*.ogg"]) is not None
    assert parsed.match(["bx.ogg"]) is None
    assert parsed.match(["c7.ogg"]) is not None


def test_suffixes_find_upstream_paths_of_unknown_packages() -> None:
    candidates = source_candidates("ufoai-sound", "usr/share/games/ufoai/base/sound/doors/door1-open.ogg")
    assert "base/sound/doors/door1-open.ogg" in candidates
