"""Task-aware feature taps (paper §3.3): which features the head consumes."""
from typing import List, Sequence, Union

from mmdata.errors import ConfigError

# backbone stage indices: 0 = C2, 1 = C3, 2 = C4, 3 = C5; 'z' = neck output;
# 'pool' = globally average-pooled C5 (what a linear classifier reads),
# compared across the batch as z is
TAPS = {
    'cls': ['z'],  # classification: embedding after the neck
    'det_c4': [3],  # Faster R-CNN C4: C5 (the stage-4 ROI head output)
    'det_fpn': [0, 1, 2, 3],  # FPN detectors: C2-C5
    'seg': [2, 3],  # segmentation: C4-C5
}
TAP_NAMES = {0: 'C2', 1: 'C3', 2: 'C4', 3: 'C5', 'z': 'z', 'pool': 'C5pool'}


def resolve_taps(tap: Union[str, Sequence]) -> List:
    """``'cls'``/``'det_c4'``/``'det_fpn'``/``'seg'`` or an explicit list of
    stage indices (0-3), names (``'C2'``..``'C5'``), ``'z'`` and/or
    ``'C5pool'``."""
    if isinstance(tap, str) and tap in TAPS:
        return list(TAPS[tap])
    items = [tap] if isinstance(tap, (str, int)) else list(tap)
    by_name = {v: k for k, v in TAP_NAMES.items()}
    taps = []
    for item in items:
        if item in TAP_NAMES:
            taps.append(item)
        elif item in by_name:
            taps.append(by_name[item])
        else:
            raise ConfigError(
                f'tap {item!r}: choose one of {sorted(TAPS)} or a list of '
                "stage indices 0-3, 'C2'-'C5', 'z' or 'C5pool'")
    if not taps:
        raise ConfigError('tap list is empty')
    return taps
