"""Describers: the editor's markers and the detector's events as labelled, time-ordered sound events."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import (
    BertTokenizer,
    BlipConfig,
    BlipForConditionalGeneration,
    BlipImageProcessor,
    BlipProcessor,
    CLIPImageProcessor,
    CLIPVisionConfig,
    LlamaConfig,
    LlavaConfig,
    LlavaForConditionalGeneration,
    LlavaProcessor,
)

from foley_engine.describer import (
    CUE_EVENT_LENGTH,
    MAX_EVENTS,
    ClipContext,
    Describer,
    Description,
    EventDescriber,
    clean_name,
    summary_text,
)
from foley_engine.errors import InvalidRequest, ModelError
from foley_engine.request import EventSpan, OnsetCue, TimeMap
from foley_engine.semantic_projector import SemanticProjector
from foley_engine.text import model_dir
from foley_engine.video import output_times, sample_frames
from foley_engine.vlm_describer import KEYFRAME_CONFIDENCE, VisionLanguageDescriber

from .engine_testing import picture_index

EIGHT = F(8)


def _starts(description: Description) -> list[F]:
    return [event.start for event in description.events]


# ---- names and summaries ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cleaned"),
    [
        ("door_slam_take2.mov", "door slam take2"),
        ("/media/card/GlassBreak-02.wav", "glass break 02"),
        ("C:\\Footage\\footsteps_gravel.MXF", "footsteps gravel"),
        ("Tür_Knall.mp4", "tür knall"),
        ("A001_C002_0612.mov", ""),
        ("A002C006_141024_R2EF.mxf", ""),
        ("clip 1", ""),
        ("IMG_4711.MOV", ""),
        ("DJI_0042.MP4", ""),
        ("GH010042.mp4", ""),
        ("Timeline 1 (copy)", ""),
        ("", ""),
    ],
)
def test_clip_names_keep_their_words_and_camera_names_say_nothing(name: str, cleaned: str) -> None:
    assert clean_name(name, file_name=True) == cleaned


def test_marker_names_are_cleaned_without_dropping_dotted_words() -> None:
    assert clean_name("Marker 3") == ""
    assert clean_name("DoorSlam") == "door slam"
    assert clean_name("glass.hit") == "glass hit"  # not a file name: ".hit" is no extension


def test_summary_is_the_prompt_then_the_name_when_it_adds_something() -> None:
    assert summary_text("Footsteps on gravel.", "door_slam_take2.mov") == "Footsteps on gravel, door slam take2"
    assert summary_text("  heavy   door slam ", "Door_Slam.mov") == "heavy door slam"
    assert summary_text("", "A001_C002_0612.mov") == ""
    assert summary_text("", "splash_03.wav") == "splash 03"


# ---- the context's own checks -------------------------------------------------------------


def test_context_refuses_what_it_cannot_describe() -> None:
    with pytest.raises(InvalidRequest, match="duration"):
        ClipContext(F(0))
    with pytest.raises(InvalidRequest, match="ends"):
        ClipContext(EIGHT, spans=(EventSpan(F(2), F(1), "door"),))
    with pytest.raises(InvalidRequest, match="frame_times"):
        ClipContext(EIGHT, frames=np.zeros((2, 4, 4, 3), np.uint8), frame_times=(F(0),))
    with pytest.raises(InvalidRequest, match="uint8"):
        ClipContext(EIGHT, frames=np.zeros((1, 4, 4), np.float32), frame_times=(F(0),))


# ---- the default describer ----------------------------------------------------------------


def test_default_max_events_leaves_the_projector_one_slot_for_the_summary() -> None:
    assert MAX_EVENTS == SemanticProjector().config.max_events - 1
    assert isinstance(EventDescriber(), Describer)


def test_named_cues_are_short_events_cut_at_the_next_cue() -> None:
    clip = ClipContext(EIGHT, cues=(OnsetCue(F(3), "glass"), OnsetCue(F(1), "door"), OnsetCue(F(11, 10), "door")))
    events = EventDescriber().describe(clip).events
    assert [(e.start, e.end, e.label) for e in events] == [
        (F(1), F(11, 10), "door"),  # the next cue comes before the quarter second is over
        (F(11, 10), F(11, 10) + CUE_EVENT_LENGTH, "door"),
        (F(3), F(3) + CUE_EVENT_LENGTH, "glass"),
    ]
    assert all(e.confidence == 1.0 for e in events)


def test_editor_events_come_first_and_detections_fill_the_free_time() -> None:
    clip = ClipContext(
        EIGHT,
        spans=(EventSpan(F(2), F(4), "Heavy_Door"),),
        cues=(OnsetCue(F(6), "glass"),),
        detected=(
            EventSpan(F(1), F(3), "impact", 0.9),  # overlaps the editor's span: dropped
            EventSpan(F(5), F(11, 2), "footstep", 0.6),  # free time: kept with its confidence
            EventSpan(F(6, 1) + F(1, 10), F(7), "metal", 0.8),  # overlaps the cue's short event: dropped
        ),
    )
    events = EventDescriber().describe(clip).events
    assert [(e.start, e.end, e.label, e.confidence) for e in events] == [
        (F(2), F(4), "heavy door", 1.0),
        (F(5), F(11, 2), "footstep", 0.6),
        (F(6), F(6) + CUE_EVENT_LENGTH, "glass", 1.0),
    ]


def test_unnamed_markers_take_the_most_confident_overlapping_detection() -> None:
    clip = ClipContext(
        EIGHT,
        cues=(OnsetCue(F(1)), OnsetCue(F(5), "Marker 2"), OnsetCue(F(7))),
        spans=(EventSpan(F(2), F(4)),),
        detected=(
            EventSpan(F(1, 2), F(3, 2), "footstep", 0.5),
            EventSpan(F(1, 2), F(3, 2), "water", 0.7),
            EventSpan(F(3), F(9, 2), "door", 0.4),
            EventSpan(F(49, 10), F(51, 10), "gunshot", 0.9),
        ),
    )
    events = EventDescriber().describe(clip).events
    assert [(e.start, e.label, e.confidence) for e in events] == [
        (F(1), "water", 1.0),
        (F(2), "door", 1.0),
        (F(5), "gunshot", 1.0),  # "Marker 2" is no name
        (F(7), "", 1.0),  # nothing detected there: an event without text
    ]


def test_events_are_clipped_to_the_window_and_outside_ones_dropped() -> None:
    clip = ClipContext(
        F(2),
        cues=(
            OnsetCue(F(-1, 10), "door"),
            OnsetCue(F(2), "door"),
            OnsetCue(F(1, 2), "door"),
            OnsetCue(F(19, 10), "glass"),
        ),
        spans=(EventSpan(F(1), F(3), "splash"), EventSpan(F(3), F(4), "glass")),
        detected=(EventSpan(F(-1), F(2, 5), "whoosh", 0.5),),
    )
    events = EventDescriber().describe(clip).events
    assert [(e.start, e.end, e.label) for e in events] == [
        (F(0), F(2, 5), "whoosh"),
        (F(1, 2), F(3, 4), "door"),
        (F(1), F(2), "splash"),
        (F(19, 10), F(2), "glass"),
    ]


def test_a_span_of_no_length_is_a_moment_like_a_cue() -> None:
    clip = ClipContext(EIGHT, spans=(EventSpan(F(4), F(4), "click"),))
    assert EventDescriber().describe(clip).events == (EventSpan(F(4), F(4) + CUE_EVENT_LENGTH, "click"),)


def test_over_the_limit_named_and_confident_events_are_kept_in_time_order() -> None:
    cues = tuple(OnsetCue(F(k, 4)) for k in range(8))  # unnamed, nothing detected under them
    detected = tuple(EventSpan(F(5 + k, 2), F(5 + k, 2) + F(1, 4), "drum", 0.1 * (k + 1)) for k in range(8))
    clip = ClipContext(EIGHT, cues=cues + (OnsetCue(F(15, 2), "door"),), detected=detected)
    description = EventDescriber(max_events=5).describe(clip)
    assert [(e.start, e.label) for e in description.events] == [
        (F(9, 2), "drum"),
        (F(5), "drum"),
        (F(11, 2), "drum"),
        (F(6), "drum"),
        (F(15, 2), "door"),
    ]
    assert len(EventDescriber().describe(clip).events) == MAX_EVENTS  # of 8 + 8 + 1


def test_the_same_marker_twice_is_one_event() -> None:
    clip = ClipContext(EIGHT, cues=(OnsetCue(F(1), "door"), OnsetCue(F(1), "door"), OnsetCue(F(1), "glass")))
    assert [e.label for e in EventDescriber().describe(clip).events] == ["door", "glass"]


def test_summary_comes_from_the_prompt_and_name() -> None:
    clip = ClipContext(EIGHT, name="A001_C002_0612.mov", prompt="rain on a tin roof")
    assert EventDescriber().describe(clip) == Description((), "rain on a tin roof")


# ---- the vision-language describer --------------------------------------------------------


def _tokenizer() -> BertTokenizer:
    # The packaged MiniLM's vocabulary: a real WordPiece tokenizer built with nothing downloaded.
    return BertTokenizer(vocab=str(model_dir() / "vocab.txt"))


def _save_tiny_blip(folder: Path) -> Path:
    tokenizer = _tokenizer()
    config = BlipConfig(
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "max_position_embeddings": 64,
            "bos_token_id": tokenizer.cls_token_id,
            "sep_token_id": tokenizer.sep_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        projection_dim=32,
    )
    torch.manual_seed(0)
    BlipForConditionalGeneration(config).save_pretrained(folder)
    image_processor = BlipImageProcessor(size={"height": 32, "width": 32})
    BlipProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    return folder


def _save_tiny_llava(folder: Path) -> Path:
    """A chat-template model: the prompt goes in and only the answer comes back."""
    tokenizer = _tokenizer()
    tokenizer.add_special_tokens({"additional_special_tokens": ["<image>"]})
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=32,
            patch_size=8,
        ),
        text_config=LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
            max_position_embeddings=256,
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.cls_token_id,
            eos_token_id=tokenizer.sep_token_id,
        ),
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        vision_feature_layer=-1,
    )
    template = (
        "{% for m in messages %}{{ m['role'] }}: {% for c in m['content'] %}"
        "{% if c['type'] == 'image' %}<image>{% else %}{{ c['text'] }}{% endif %}{% endfor %}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant:{% endif %}"
    )
    torch.manual_seed(0)
    LlavaForConditionalGeneration(config).save_pretrained(folder)
    LlavaProcessor(
        image_processor=CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}),
        tokenizer=tokenizer,
        patch_size=8,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=template,
    ).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_blip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _save_tiny_blip(tmp_path_factory.mktemp("blip"))


@pytest.fixture(scope="module")
def clip_with_frames(video_24fps: Path) -> ClipContext:
    """Four seconds of the index video at 4 fps, with a cue, a span and a detection."""
    window = TimeMap(F(0), F(4))
    frames = sample_frames(video_24fps, window, fps=4)
    return ClipContext(
        F(4),
        name="door_slam_take2.mov",
        cues=(OnsetCue(F(1), "Door slam"), OnsetCue(F(29, 10))),
        detected=(EventSpan(F(3, 2), F(2), "footstep", 0.8),),
        frames=frames,
        frame_times=tuple(output_times(window, 4, F(0), len(frames))),
    )


@pytest.mark.parametrize("build", [_save_tiny_blip, _save_tiny_llava], ids=["blip", "llava"])
def test_vlm_captions_real_frames_as_time_ordered_labels(
    build, tmp_path: Path, clip_with_frames: ClipContext
) -> None:
    describer = VisionLanguageDescriber(build(tmp_path / "vlm"), max_new_tokens=6)
    described = describer.describe(clip_with_frames)
    default = EventDescriber().describe(clip_with_frames)
    assert described.summary == default.summary == "door slam take2"
    assert [(e.start, e.end) for e in described.events] == [(e.start, e.end) for e in default.events]
    assert _starts(described) == sorted(_starts(described))
    assert all(isinstance(e.label, str) and e.label.strip() for e in described.events)
    by_start = {e.start: e.label for e in described.events}
    assert by_start[F(1)] == "door slam"  # the editor's own words stay
    assert by_start[F(3, 2)] != "footstep" and by_start[F(29, 10)] != ""  # the model's words replace the rest


def test_vlm_uses_evenly_spaced_keyframes_when_there_are_no_events(
    tiny_blip: Path, clip_with_frames: ClipContext
) -> None:
    clip = replace(clip_with_frames, cues=(), detected=())
    events = VisionLanguageDescriber(tiny_blip, keyframes=4, max_new_tokens=6).describe(clip).events
    assert [(e.start, e.end) for e in events] == [(F(k), F(k + 1)) for k in range(4)]
    assert all(e.label.strip() and e.confidence == KEYFRAME_CONFIDENCE for e in events)


def test_vlm_captions_the_frame_nearest_each_event(tiny_blip: Path, clip_with_frames: ClipContext) -> None:
    class FrameIndex(VisionLanguageDescriber):
        """Reads the index each test picture shows instead of captioning it, to see which frame was picked."""

        def caption(self, frames: np.ndarray) -> list[str]:
            return [f"frame {picture_index(frame)}" for frame in frames]

    events = FrameIndex(tiny_blip).describe(clip_with_frames).events
    # The video's frame k shows index k at 24 fps; the 4 fps samples show 0, 6, 12, ...
    # footstep 1.5-2 s: middle 1.75 s → frame 42; the unnamed cue at 2.9 s: middle 3.025 s → the 3 s sample (72).
    assert [(e.start, e.label) for e in events] == [(F(1), "door slam"), (F(3, 2), "frame 42"), (F(29, 10), "frame 72")]


def test_vlm_without_frames_is_the_default_description(tiny_blip: Path, clip_with_frames: ClipContext) -> None:
    clip = replace(clip_with_frames, frames=None, frame_times=())
    assert VisionLanguageDescriber(tiny_blip).describe(clip) == EventDescriber().describe(clip)


def test_vlm_missing_folder_is_a_model_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelError, match=f"{missing}: no such folder.*save_pretrained"):
        VisionLanguageDescriber(missing)


def test_a_folder_that_is_no_vlm_is_a_model_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=f"{tmp_path}: no config.json"):
        VisionLanguageDescriber(tmp_path)
    # The sentence embedding model is a real transformers model, but it reads no pictures.
    with pytest.raises(ModelError, match=f"{model_dir()}: not a usable vision-language model.*save_pretrained"):
        VisionLanguageDescriber(model_dir())
