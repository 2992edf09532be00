import pytest

from foley_engine.data.taxonomy import CLASSES, classify

MINETEST = "usr/share/games/minetest/games/minetest_game/mods"
UFOAI = "usr/share/games/ufoai/base/sound"
SONIC = "usr/share/sonic-pi/samples"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (f"{MINETEST}/default/sounds/default_wood_footstep.1.ogg", "footstep"),
        (f"{MINETEST}/default/sounds/default_water_footstep.2.ogg", "footstep"),
        (f"{MINETEST}/default/sounds/default_break_glass.2.ogg", "glass"),
        (f"{MINETEST}/doors/sounds/doors_glass_door_close.ogg", "door"),
        (f"{MINETEST}/doors/sounds/doors_steel_door_open.ogg", "door"),
        (f"{MINETEST}/tnt/sounds/tnt_explode.ogg", "explosion"),
        (f"{MINETEST}/tnt/sounds/tnt_ignite.ogg", None),
        (f"{MINETEST}/default/sounds/default_dig_choppy.1.ogg", "dig"),
        (f"{MINETEST}/default/sounds/default_dug_metal.1.ogg", "dig"),
        (f"{MINETEST}/default/sounds/default_place_node_metal.1.ogg", "metal"),
        (f"{MINETEST}/default/sounds/default_place_node.2.ogg", "impact"),
        (f"{MINETEST}/fire/sounds/fire_large.ogg", None),
        (f"{SONIC}/perc_door.flac", "door"),
        (f"{SONIC}/perc_impact1.flac", "impact"),
        (f"{SONIC}/perc_swoosh.flac", "whoosh"),
        (f"{SONIC}/misc_cineboom.flac", "explosion"),
        (f"{SONIC}/bd_boom.flac", "drum"),
        (f"{SONIC}/drum_snare_hard.flac", "drum"),
        (f"{SONIC}/ambi_glass_hum.flac", None),
        (f"{SONIC}/bass_hit_c.flac", None),
        (f"{SONIC}/perc_snap.flac", "click"),
        (f"{UFOAI}/footsteps/wood1.ogg", "footstep"),
        (f"{UFOAI}/footsteps/hitground2.ogg", "impact"),
        (f"{UFOAI}/doors/door1-close.ogg", "door"),
        (f"{UFOAI}/misc/breakglass03.ogg", "glass"),
        (f"{UFOAI}/misc/breakmetal01.ogg", "metal"),
        (f"{UFOAI}/misc/breakwood02.ogg", "impact"),
        (f"{UFOAI}/misc/breakelectric01.ogg", None),
        (f"{UFOAI}/impact/water-impact.ogg", "water"),
        (f"{UFOAI}/impact/laser-impact.ogg", None),
        (f"{UFOAI}/weapons/bullet-pistol.ogg", "gunshot"),
        (f"{UFOAI}/weapons/reload-rifle.ogg", "click"),
        (f"{UFOAI}/weapons/melee-swoosh.ogg", "whoosh"),
        (f"{UFOAI}/weapons/explosion-grenade.ogg", "explosion"),
        (f"{UFOAI}/ui/click1.ogg", "click"),
        (f"{UFOAI}/soldiers/maledeath01.ogg", None),
    ],
)
def test_known_names_are_classified(path: str, expected: str | None) -> None:
    assert classify(path) == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Explosion", "explosion"),
        ("Big crash", "impact"),
        ("Toyland: Bubble plop", "water"),
        ("Road vehicle breakdown", None),
        ("Jackhammer", None),
    ],
)
def test_container_titles_are_classified(title: str, expected: str | None) -> None:
    assert classify("usr/share/games/openttd/baseset/opensfx/opensfx.cat/18", title) == expected


def test_every_rule_names_a_listed_class() -> None:
    from foley_engine.data.taxonomy import _RULES

    assert {label for label, _ in _RULES if label} == set(CLASSES)
