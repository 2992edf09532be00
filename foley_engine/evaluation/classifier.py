"""A sound-event classifier for the semantic benchmark: which of the dataset's classes a hit is.

The paper family scores semantic alignment with a classifier trained on the
training split's classes: run on the generated audio at each true onset, its
accuracy says whether the right kind of sound was made there, and its class
distributions next to those of the true audio give the KL figure.

`EventClassifier` is a small CNN over a log-mel crop that starts `LEAD_FRAMES`
before an onset and lasts `CROP_FRAMES` (0.512 s at 62.5 frames/s): the
front end's own mel (`foley_engine.mel.log_mel`), pooled to half the bins,
read as 1-D convolutions over time with the bins as channels (the cheapest
shape that trains in a few minutes on two CPU cores). It trains on every
labelled onset of the train split (paired and audio-only clips; the split's
recordings are never in val or test) with random shifts of a few frames
(a generated transient may sit a frame or two off its cue), random level
changes (a generated sound need not be as loud as the recording) and random
moves and gaps along the mel bins (`_augment`), keeps the epoch best on val,
and is cached in a folder with the digest of the data and settings it was
trained on, so a run retrains only when either changed.

Every class has only a few dozen training recordings, each placed many times,
so the classifier fits them long before it generalises: on the recordings of
the val and test splits it reaches about 45 % (12 classes, chance 8 %), and
its accuracy on the real test audio is the benchmark's ceiling.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn
from tqdm import tqdm

from ..config import AUDIO
from ..data import ClipRecord, load_split
from ..data.records import CLIPS_FILE
from ..data.taxonomy import CLASSES
from ..errors import ModelError
from ..mel import log_mel
from ..training.clips import read_samples

Log = Callable[[str], None]

CROP_FRAMES = 32  # 0.512 s: a hit and most of its decay
LEAD_FRAMES = 2  # the crop starts 32 ms before the onset, so a slightly late transient keeps its attack
MAX_SHIFT = 2  # training shifts the crop by up to this many frames either way
TRAINING_FILE = "training.json"
MEL_BATCH = 32  # clips per log-mel batch while reading a split


class EventClassifier(ModelMixin, ConfigMixin):
    """Log-mel crops (B, n_mels, crop_frames) in [0, 1] → class logits (B, len(classes)).

    Config: `n_mels` and `crop_frames` the input size; `classes` the class names
    in output order (saved, so a changed taxonomy is seen on loading);
    `channels` the 1-D convolution widths, each layer but the last followed by
    a halving of time; `dropout` before the output layer.
    """

    @register_to_config
    def __init__(
        self,
        n_mels: int = AUDIO.n_mels,
        crop_frames: int = CROP_FRAMES,
        classes: tuple[str, ...] = CLASSES,
        channels: tuple[int, ...] = (64, 64, 96),
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        if n_mels % 2:
            raise ValueError(f"the mel bins are pooled in pairs; {n_mels} is odd")
        layers: list[nn.Module] = []
        previous = n_mels // 2
        for index, width in enumerate(channels):
            layers += [nn.Conv1d(previous, width, 3, padding=1, bias=False), nn.BatchNorm1d(width), nn.ReLU()]
            if index < len(channels) - 1:
                layers.append(nn.MaxPool1d(2))
            previous = width
        self.body = nn.Sequential(*layers)
        self.drop = nn.Dropout(dropout)
        # Mean and max over time: a short click and a long whoosh both leave their mark.
        self.head = nn.Linear(2 * previous, len(classes))

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        """Class logits of (B, n_mels, crop_frames) normalised log-mel crops."""
        expected = (self.config.n_mels, self.config.crop_frames)
        if crops.ndim != 3 or tuple(crops.shape[1:]) != expected:
            raise ValueError(f"expected (batch, {expected[0]}, {expected[1]}) crops, got {tuple(crops.shape)}")
        x = crops.to(self.dtype) * 2.0 - 1.0  # centred, as the other towers read a mel
        x = F.avg_pool2d(x.unsqueeze(1), (2, 1)).squeeze(1)
        x = self.body(x)
        x = torch.cat([x.mean(dim=-1), x.amax(dim=-1)], dim=-1)
        return self.head(self.drop(x))


def onset_frame(seconds: Fraction | float) -> int:
    """The mel frame an onset at `seconds` falls in (frames are centred every hop)."""
    return round(float(seconds) * AUDIO.sample_rate / AUDIO.hop_length)


def event_crops(mel: torch.Tensor, onsets: Sequence[Fraction | float], margin: int = 0) -> torch.Tensor:
    """(E, n_mels, CROP_FRAMES + 2 * margin) crops of a normalised mel (n_mels, T), one per onset.

    Each starts `LEAD_FRAMES + margin` frames before its onset; past either end
    of the mel the crop reads 0 (the normalised floor, silence).
    """
    width = CROP_FRAMES + 2 * margin
    if not onsets:
        return torch.zeros(0, mel.shape[0], width, dtype=mel.dtype)
    padded = F.pad(mel, (LEAD_FRAMES + margin, CROP_FRAMES + margin))
    # Frame f of the mel is column f + LEAD_FRAMES + margin of `padded`, so the crop of an
    # onset in frame f starts at column f.
    return torch.stack([padded[:, onset_frame(t) : onset_frame(t) + width] for t in onsets])


def audio_crops(samples: np.ndarray, onsets: Sequence[Fraction | float]) -> torch.Tensor:
    """The classifier's crops (E, n_mels, CROP_FRAMES) of mono 16 kHz `samples` at `onsets`."""
    mel = log_mel(torch.as_tensor(np.asarray(samples, dtype=np.float32))[None])[0]
    return event_crops(mel, onsets)


@dataclass
class EventSet:
    """Labelled event crops, `MAX_SHIFT` frames wider at each end than the classifier reads."""

    crops: torch.Tensor  # (N, n_mels, CROP_FRAMES + 2 * MAX_SHIFT) float16
    labels: torch.Tensor  # (N,) class index into CLASSES

    def centred(self) -> torch.Tensor:
        """The crops the classifier reads: no shift."""
        return self.crops[..., MAX_SHIFT : MAX_SHIFT + CROP_FRAMES]


def class_index(label: str) -> int:
    """The position of `label` in CLASSES; ValueError for a label outside the taxonomy."""
    try:
        return CLASSES.index(label)
    except ValueError:
        raise ValueError(f"sound class {label!r} is not one of the taxonomy's {len(CLASSES)}") from None


def record_events(records: Sequence[ClipRecord], progress: str | None = None) -> EventSet:
    """Every labelled onset of `records` as a crop of the clip's true audio."""
    crops: list[torch.Tensor] = []
    labels: list[int] = []
    batches = range(0, len(records), MEL_BATCH)
    for start in tqdm(batches, desc=progress, disable=progress is None, dynamic_ncols=True, mininterval=1.0):
        chunk = records[start : start + MEL_BATCH]
        mels = log_mel(torch.from_numpy(np.stack([read_samples(record) for record in chunk])))
        for record, mel in zip(chunk, mels):
            crops.append(event_crops(mel, [onset.seconds for onset in record.onsets], MAX_SHIFT).half())
            labels += [class_index(onset.label) for onset in record.onsets]
    width = CROP_FRAMES + 2 * MAX_SHIFT
    return EventSet(
        torch.cat(crops) if crops else torch.zeros(0, AUDIO.n_mels, width, dtype=torch.float16),
        torch.tensor(labels, dtype=torch.long),
    )


@dataclass(frozen=True)
class ClassifierTraining:
    """How the classifier is trained; part of the cache key."""

    epochs: int = 4
    batch_size: int = 256
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    gain_db: float = 10.0  # level changes drawn from ±gain_db
    bin_shift: int = 6  # mel bins a crop may move up or down
    mask_bins: int = 16  # the widest band of mel bins blanked
    seed: int = 0


def _augment(crops: torch.Tensor, generator: torch.Generator, settings: ClassifierTraining) -> torch.Tensor:
    """Random crops of the wide ones (shifts of up to MAX_SHIFT frames) at random levels, moved up or
    down a few mel bins and with a band of bins blanked.

    The test recordings are never heard in training, so the classifier must not learn the exact
    timbre of a training recording: the bin shift stands for a differently pitched sound of the
    same kind, the blanked band for a missing resonance (SpecAugment's frequency mask).
    """
    batch, bins, width = crops.shape
    starts = torch.randint(0, width - CROP_FRAMES + 1, (batch,), generator=generator)
    columns = (starts[:, None] + torch.arange(CROP_FRAMES)[None]).unsqueeze(1).expand(-1, bins, -1)
    x = crops.float().gather(2, columns)
    # The mel is normalised dB over db_span: a gain moves every sounding cell by the same
    # amount, and the silent floor (0) stays silent rather than turning into noise.
    gain = (torch.rand(batch, 1, 1, generator=generator) * 2 - 1) * settings.gain_db / AUDIO.db_span
    x = torch.where(x > 0, (x + gain).clamp(0.0, 1.0), x)
    shift = torch.randint(-settings.bin_shift, settings.bin_shift + 1, (batch,), generator=generator)
    rows = (torch.arange(bins)[None] - shift[:, None]).clamp(0, bins - 1)  # the edge bins repeat
    x = x.gather(1, rows.unsqueeze(2).expand(-1, -1, CROP_FRAMES))
    band = torch.randint(0, settings.mask_bins + 1, (batch,), generator=generator)
    first = (torch.rand(batch, generator=generator) * (bins - band + 1)).long()
    index = torch.arange(bins)[None]
    masked = (index >= first[:, None]) & (index < (first + band)[:, None])
    return x.masked_fill(masked.unsqueeze(2), 0.0)


@torch.no_grad()
def predict(model: EventClassifier, crops: torch.Tensor, batch_size: int = 512) -> np.ndarray:
    """Class probabilities (N, classes) of (N, n_mels, CROP_FRAMES) crops, in float64."""
    model.eval()
    out = [
        F.softmax(model(crops[start : start + batch_size].to(model.device).float()).float(), dim=-1).cpu()
        for start in range(0, len(crops), batch_size)
    ]
    if not out:
        return np.zeros((0, len(model.config.classes)))
    return torch.cat(out).double().numpy()


def accuracy(probabilities: np.ndarray, labels: np.ndarray | torch.Tensor) -> float:
    """The share of rows whose most probable class is the label (NaN for no rows)."""
    labels = np.asarray(labels)
    if not len(labels):
        return float("nan")
    return float(np.mean(np.argmax(probabilities, axis=1) == labels))


def train_classifier(
    train: EventSet, val: EventSet, settings: ClassifierTraining, device: str = "cpu", log: Log = print
) -> tuple[EventClassifier, list[dict[str, float]]]:
    """Train on `train`, keep the epoch most accurate on `val`; returns it and each epoch's figures."""
    if not len(train.labels) or not len(val.labels):
        raise ValueError(
            f"the classifier needs events to train and validate on, got {len(train.labels)} and {len(val.labels)}"
        )
    if settings.epochs < 1:
        raise ValueError(f"the classifier needs at least one epoch, got {settings.epochs}")
    torch.manual_seed(settings.seed)
    generator = torch.Generator().manual_seed(settings.seed)
    model = EventClassifier().to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    per_epoch = -(-len(train.labels) // settings.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=settings.learning_rate, total_steps=settings.epochs * per_epoch
    )
    val_crops = val.centred()
    history: list[dict[str, float]] = []
    best: tuple[float, dict[str, torch.Tensor]] | None = None
    bar = tqdm(total=settings.epochs * per_epoch, desc="event classifier", dynamic_ncols=True, mininterval=1.0)
    for epoch in range(settings.epochs):
        model.train()
        order = torch.randperm(len(train.labels), generator=generator)
        total = 0.0
        for start in range(0, len(order), settings.batch_size):
            batch = order[start : start + settings.batch_size]
            x = _augment(train.crops[batch], generator, settings).to(device)
            loss = F.cross_entropy(model(x), train.labels[batch].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(batch)
            bar.update()
            bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}")
        val_accuracy = accuracy(predict(model, val_crops), val.labels)
        history.append({"epoch": epoch + 1, "loss": total / len(order), "val_accuracy": val_accuracy})
        log(
            f"event classifier epoch {epoch + 1}/{settings.epochs}: "
            f"loss {total / len(order):.3f}, val accuracy {val_accuracy:.3f}"
        )
        if best is None or val_accuracy > best[0]:
            best = (val_accuracy, copy.deepcopy(model.state_dict()))
    bar.close()
    assert best is not None  # at least one epoch ran
    model.load_state_dict(best[1])
    return model.eval(), history


def data_digest(data: Path, settings: ClassifierTraining) -> str:
    """What the classifier depends on: the train and val clip lists, the taxonomy, the crop and the settings.

    The clip lists name every clip's onsets, classes and source recordings, and the
    dataset build is deterministic, so the same lists mean the same audio.
    """
    digest = hashlib.sha256()
    for split in ("train", "val"):
        path = Path(data) / split / CLIPS_FILE
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} does not exist; build the dataset with `python -m foley_engine.data build`"
            )
        digest.update(path.read_bytes())
    settings_text = json.dumps(
        {"training": asdict(settings), "classes": CLASSES, "crop": [LEAD_FRAMES, CROP_FRAMES, MAX_SHIFT]},
        sort_keys=True,
    )
    digest.update(settings_text.encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class TrainedClassifier:
    """A classifier ready to score, and what is known of its training."""

    model: EventClassifier
    folder: Path
    trained_now: bool  # False: read from the cache
    record: dict[str, Any]  # training.json: digest, event counts, val accuracy per epoch, seconds


def load_or_train(
    data: Path,
    folder: Path,
    settings: ClassifierTraining = ClassifierTraining(),
    device: str = "cpu",
    log: Log = print,
) -> TrainedClassifier:
    """The classifier cached in `folder` if it was trained on this data with these settings;
    otherwise a new one, trained and saved there."""
    folder = Path(folder)
    digest = data_digest(data, settings)
    record_path = folder / TRAINING_FILE
    if record_path.is_file():
        record = json.loads(record_path.read_text(encoding="utf-8"))
        if record.get("digest") == digest:
            try:
                model = EventClassifier.from_pretrained(folder, low_cpu_mem_usage=False)
            except (OSError, ValueError, RuntimeError) as error:
                raise ModelError(
                    f"{folder}: the cached event classifier cannot be loaded ({error}); delete the folder to retrain"
                ) from error
            log(f"event classifier: cached in {folder} (val accuracy {record['val_accuracy']:.3f})")
            return TrainedClassifier(model.to(device).eval(), folder, False, record)
        log(f"event classifier: {folder} was trained on other data or settings; retraining")
    began = time.perf_counter()
    log(f"event classifier: reading the events of {data}")
    train = record_events(load_split(data, "train"), "train events")
    val = record_events(load_split(data, "val"), "val events")
    model, history = train_classifier(train, val, settings, device, log)
    record = {
        "digest": digest,
        "settings": asdict(settings),
        "train_events": len(train.labels),
        "val_events": len(val.labels),
        "val_accuracy": max(epoch["val_accuracy"] for epoch in history),
        "history": history,
        "seconds": time.perf_counter() - began,
    }
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    # Written last: a folder without it (an interrupted save) is retrained.
    record_path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return TrainedClassifier(model, folder, True, record)
