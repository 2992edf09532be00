"""End to end: fake Diff-Foley checkpoints → a pipeline directory → the engine generates from it."""

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from foley_engine import cli
from foley_engine.cavp import Cnn14AudioEncoder, SlowOnlyEncoder
from foley_engine.config import AUDIO
from foley_engine.conversion.diff_foley import AUDIO_ENCODER_FOLDER, convert_diff_foley
from foley_engine.conversion.ldm import ConvertedLdm
from foley_engine.diff_foley import TINY_DIFF_FOLEY
from foley_engine.engine import FoleyEngine
from foley_engine.errors import ModelError
from foley_engine.request import GenerationRequest, OnsetCue, TimeMap

from ..engine.engine_testing import write_video


@pytest.fixture(scope="module")
def converted_dir(tmp_path_factory: pytest.TempPathFactory, checkpoints: tuple[Path, Path]) -> Path:
    ldm, cavp = checkpoints
    return convert_diff_foley(ldm, cavp, tmp_path_factory.mktemp("out") / "diff-foley", config=TINY_DIFF_FOLEY)


@pytest.fixture(scope="module")
def engine(converted_dir: Path) -> FoleyEngine:
    return FoleyEngine.load(converted_dir)


def test_the_directory_is_our_pipeline_with_untrained_adapters(engine: FoleyEngine, converted_dir: Path) -> None:
    info = engine.info()
    assert info.name == "diff-foley" and info.trained
    assert not any(adapter.trained for adapter in info.adapters)
    pipe = engine.pipeline
    assert pipe.config.mel_layout == "repeat" and pipe.config.latent_scale == pytest.approx(0.18215)
    assert isinstance(pipe.video_encoder, SlowOnlyEncoder) and pipe.feature_projector.config.n_positions == 40
    assert pipe.latent_shape == (4, 16, 64)
    assert not list(converted_dir.parent.glob(".*partial"))
    assert all(p.suffix != ".bin" for p in converted_dir.rglob("*.*")), "weights must be safetensors"


def test_a_fresh_process_loads_the_directory(converted_dir: Path) -> None:
    # diffusers builds a custom component only from a module already imported, so the
    # engine itself must import the CAVP towers; this test's process already has them.
    code = (
        "from foley_engine.engine import FoleyEngine; "
        f"print(type(FoleyEngine.load({str(converted_dir)!r}).pipeline.video_encoder).__name__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("SlowOnlyEncoder")


def test_saved_weights_are_the_converted_ones(engine: FoleyEngine, converted_ldm: ConvertedLdm) -> None:
    unet = engine.pipeline.unet.state_dict()
    for name in ("conv_in.weight", "up_blocks.1.attentions.2.proj_out.weight", "mid_block.resnets.1.conv2.bias"):
        torch.testing.assert_close(unet[name], converted_ldm.unet[name])
    # The adapters start as copies of the converted UNet's encoder.
    adapter = engine.pipeline.temporal_adapter.state_dict()
    name = "down_blocks.0.resnets.0.conv1.weight"
    torch.testing.assert_close(adapter[name], unet[name])


def test_the_audio_tower_is_saved_beside_the_pipeline(converted_dir: Path, converted_cavp) -> None:
    tower = Cnn14AudioEncoder.from_pretrained(converted_dir / AUDIO_ENCODER_FOLDER)
    assert not tower.training
    torch.testing.assert_close(tower.state_dict()["projection.weight"], converted_cavp.audio["projection.weight"])
    assert tower(torch.rand(1, AUDIO.n_mels, AUDIO.window_frames)).shape == (1, 32, 512)


@pytest.mark.slow
def test_the_engine_generates_from_the_converted_model(engine: FoleyEngine, tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.mp4", 24, 12)
    request = GenerationRequest(
        video_path=video, window=TimeMap(Fraction(0), Fraction(2)), cues=(OnsetCue(Fraction(1, 2)),), steps=1
    )
    audio = engine.generate(request)
    assert audio.samples.shape == (2 * AUDIO.sample_rate,)
    assert np.isfinite(audio.samples).all() and audio.model_name == "diff-foley"


def test_an_existing_output_is_kept(checkpoints: tuple[Path, Path], tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(FileExistsError, match="already exists"):
        convert_diff_foley(*checkpoints, tmp_path / "taken", config=TINY_DIFF_FOLEY)


def test_swapped_files_fail_before_anything_is_written(checkpoints: tuple[Path, Path], tmp_path: Path) -> None:
    ldm, cavp = checkpoints
    with pytest.raises(ModelError, match="looks like a CAVP checkpoint"):
        convert_diff_foley(cavp, ldm, tmp_path / "out", config=TINY_DIFF_FOLEY)
    assert not (tmp_path / "out").exists()


def test_the_cli_explains_a_wrong_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a checkpoint\n")
    status = cli.main(["convert", "diff-foley", "--ldm", str(text), "--cavp", str(text), "-o", str(tmp_path / "out")])
    assert status == 2
    message = capsys.readouterr().err
    assert "notes.txt: not a PyTorch checkpoint" in message and "expected Diff-Foley's LDM checkpoint" in message
