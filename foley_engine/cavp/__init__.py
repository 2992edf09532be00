"""CAVP's two towers (Diff-Foley's contrastive audio-visual pretraining), in our own torch code.

`SlowOnlyEncoder` (video, a ResNet3D SlowOnly-50) and `Cnn14AudioEncoder`
(audio, a PANNs Cnn14) map a window's frames and its mel spectrogram into the
same 512-d feature space, one feature per 4 fps video frame. Their parameter
names follow the original mmaction2 / PANNs layouts below a `backbone.` prefix,
so a CAVP checkpoint converts by renaming prefixes only.
"""

from .cnn14 import Cnn14AudioEncoder
from .slowonly import SlowOnlyEncoder

__all__ = ["Cnn14AudioEncoder", "SlowOnlyEncoder"]
