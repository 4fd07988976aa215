"""`Arch`: one sub-network of the ResNet supernet (paper Table 1 notation)."""
import re
from dataclasses import dataclass
from typing import Any, Dict, Sequence, Union

import yaml

from mmdata.errors import ConfigError

_PAPER_RE = re.compile(
    r'^\s*Depth\s*\[([\d,\s]*)\]\s*,?\s*Width\s*\[([\d,\s]*)\]\s*$',
    re.IGNORECASE)


@dataclass(frozen=True)
class Arch:
    """A bottleneck-ResNet sub-network: stem width, stage widths and depths.

    ``widths[i]`` is the channel count of the 3x3 conv of stage ``i`` (block
    output = 4 x width); ``stem`` is the output width of the 7x7 stem conv;
    ``depths[i]`` is the number of bottleneck blocks used in stage ``i``.

    Args:
        stem (int): Stem width.
        widths (Sequence[int]): 4 stage widths.
        depths (Sequence[int]): 4 stage depths.
    """

    stem: int
    widths: tuple
    depths: tuple

    def __post_init__(self) -> None:
        object.__setattr__(self, 'stem', _as_int('stem', self.stem))
        for name in ('widths', 'depths'):
            values = getattr(self, name)
            if isinstance(values, (str, bytes)) or not isinstance(
                    values, Sequence) or len(values) != 4:
                raise ConfigError(
                    f'Arch.{name} must be a sequence of 4 integers, '
                    f'got {values!r}')
            object.__setattr__(
                self, name,
                tuple(
                    _as_int(f'{name}[{i}]', v) for i, v in enumerate(values)))

    @property
    def out_channels(self) -> tuple:
        """Output channels of the 4 stages (4 x width)."""
        return tuple(4 * w for w in self.widths)

    def to_dict(self) -> Dict[str, Any]:
        return dict(
            stem=self.stem, widths=list(self.widths), depths=list(self.depths))

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> 'Arch':
        missing = {'stem', 'widths', 'depths'} - set(data)
        extra = set(data) - {'stem', 'widths', 'depths'}
        if missing or extra:
            raise ConfigError(
                'an Arch dict needs exactly the keys stem, widths, depths; '
                f'missing {sorted(missing)}, unexpected {sorted(extra)}')
        return cls(data['stem'], data['widths'], data['depths'])

    def __str__(self) -> str:
        depth = ','.join(map(str, self.depths))
        width = ','.join(map(str, (self.stem, ) + self.widths))
        return f'Depth [{depth}] Width [{width}]'

    @classmethod
    def parse(cls, text: str) -> 'Arch':
        """Parse the paper notation ``Depth [3,2,17,3] Width [32,48,...]``."""
        match = _PAPER_RE.match(text)
        if match is None:
            raise ConfigError(f'cannot parse arch {text!r}: expected the form '
                              "'Depth [d1,d2,d3,d4] Width [stem,w1,w2,w3,w4]'")
        depths = [int(v) for v in match.group(1).split(',') if v.strip()]
        widths = [int(v) for v in match.group(2).split(',') if v.strip()]
        if len(depths) != 4 or len(widths) != 5:
            raise ConfigError(
                f'cannot parse arch {text!r}: Depth needs 4 values and Width '
                f'5 (stem + 4 stages), got {len(depths)} and {len(widths)}')
        return cls(widths[0], widths[1:], depths)

    @classmethod
    def from_any(cls, value: Union['Arch', str, Dict[str, Any]]) -> 'Arch':
        """Build from an Arch, a dict, or a string (paper notation, JSON or
        YAML)."""
        if isinstance(value, Arch):
            return value
        if isinstance(value, dict):
            return cls.from_dict(value)
        if isinstance(value, str):
            if _PAPER_RE.match(value):
                return cls.parse(value)
            return cls.from_dict(yaml.safe_load(value))
        raise TypeError(f'cannot build an Arch from {type(value).__name__}')


def _as_int(name: str, value: Any) -> int:
    try:
        ok = not isinstance(value, bool) and float(value).is_integer()
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ConfigError(f'Arch.{name} must be an integer, got {value!r}')
    return int(value)
