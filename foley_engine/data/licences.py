"""Which licences let us train on a recording and redistribute the weights.

The policy is an allow-list: a licence is usable only if it is a known free
licence that permits derivative works and commercial use. Non-commercial and
no-derivatives terms, and anything not recognised, exclude the recording.
Copyleft licences (share-alike, GPL) are usable but flagged, because weights
trained on them may have to be shared under the same terms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_RESTRICTED = (
    (re.compile(r"(^|[-_ ])nc([-_ ]|$)|non-?commercial"), "non-commercial"),
    (re.compile(r"(^|[-_ ])nd([-_ ]|$)|no-?deriv"), "no derivatives"),
)
_PERMISSIVE = re.compile(
    r"(cc0|public-domain|pd|cc-by|mit|expat|bsd|isc|zlib|apache|unlicense|wtfpl|boost|bsl|artistic)"
    r"([-_][0-9a-z.+]+)*"
)
_COPYLEFT = re.compile(r"(cc-by-sa|gpl|lgpl|agpl|mpl|cddl|epl|ofl)([-_][0-9a-z.+]+)*")


@dataclass(frozen=True)
class LicenceVerdict:
    """Whether a licence expression allows training and redistributing weights."""

    allowed: bool
    copyleft: bool
    reason: str


def _judge_one(name: str) -> LicenceVerdict:
    name = name.strip().strip("()").strip().lower().replace(" ", "-")
    for pattern, why in _RESTRICTED:
        if pattern.search(name):
            return LicenceVerdict(False, False, f"{why} licence {name!r}")
    # Share-alike must be tested first: "cc-by-sa" also starts like "cc-by".
    if _COPYLEFT.fullmatch(name):
        return LicenceVerdict(True, True, "")
    if _PERMISSIVE.fullmatch(name):
        return LicenceVerdict(True, False, "")
    return LicenceVerdict(False, False, f"unknown licence {name!r}" if name else "no licence given")


def judge_licence(expression: str) -> LicenceVerdict:
    """Judge a DEP-5 licence expression such as `GPL-2+ or CDDL` or `MIT and CC0`.

    `or` needs one usable alternative (the most permissive one is taken);
    `and` (or a comma) needs every part usable.
    """
    alternatives = re.split(r"\s+or\s+", expression.strip(), flags=re.IGNORECASE)
    verdicts: list[LicenceVerdict] = []
    for alternative in alternatives:
        parts = [_judge_one(part) for part in re.split(r"\s+and\s+|,", alternative, flags=re.IGNORECASE)]
        refused = [part for part in parts if not part.allowed]
        if refused:
            verdicts.append(refused[0])
        else:
            verdicts.append(LicenceVerdict(True, any(part.copyleft for part in parts), ""))
    usable = [verdict for verdict in verdicts if verdict.allowed]
    if usable:
        return min(usable, key=lambda verdict: verdict.copyleft)
    return verdicts[0]
