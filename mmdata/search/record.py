"""The record of one scored candidate: what ``candidates.json`` lists and
every study, selection and report reads."""
import dataclasses
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, TypeVar

from mmdata.errors import UserError

REQUIRED = ('arch', 'arch_dict', 'bin', 'flops', 'params', 'scores')


@dataclass
class Candidate:
    """A candidate arch of a search and what the search measured on it.

    Args:
        arch (str): The arch string (:class:`mmdata.space.Arch`).
        arch_dict (dict): The arch as the export tools read it.
        bin (str): The name of its budget bin.
        flops (float): FLOPs at the search's input size.
        params (float): Parameter count.
        scores (dict): The DATA score of each tap.
        proxies (dict): Zero-cost proxies (``naswot``, ``synflow``).
        rankers (dict): The rankers beyond the paper (``rankme-C5pool``...).
        latency (float, optional): Predicted latency in ms.
        score (float, optional): The search score (the taps combined
            inside the bin), set once the bin is complete.
        params_rank (int, optional): Rank by params inside the bin (1 = the
            most).
    """
    arch: str
    arch_dict: dict
    bin: str
    flops: float
    params: float
    scores: Dict[str, float]
    proxies: Dict[str, float] = field(default_factory=dict)
    rankers: Dict[str, float] = field(default_factory=dict)
    latency: Optional[float] = None
    score: Optional[float] = None
    params_rank: Optional[int] = None

    def to_json(self) -> dict:
        """The record as written to JSON (unset optional fields left
        out)."""
        return {
            k: v
            for k, v in dataclasses.asdict(self).items()
            if v is not None or k not in ('latency', 'score', 'params_rank')
        }

    @classmethod
    def from_json(cls, value: dict, where: str = 'candidate') -> 'Candidate':
        """The record of ``value``; a field missing or of the wrong type is
        a one-line :class:`UserError` naming ``where``."""
        if not isinstance(value, dict):
            raise UserError(f'{where}: a candidate must be an object, got '
                            f'{type(value).__name__}')
        missing = [k for k in REQUIRED if k not in value]
        if missing:
            raise UserError(f'{where} (arch {value.get("arch", "?")!r}) '
                            f'lacks {missing}')
        known = {f.name for f in dataclasses.fields(cls)}
        record = cls(**{k: v for k, v in value.items() if k in known})
        record._check(where)
        return record

    def _check(self, where: str) -> None:
        number = (int, float)
        checks = [('arch', isinstance(self.arch, str)),
                  ('arch_dict', isinstance(self.arch_dict, dict)),
                  ('bin', isinstance(self.bin, str)),
                  ('flops', isinstance(self.flops, number)),
                  ('params', isinstance(self.params, number)),
                  ('score', self.score is None
                   or isinstance(self.score, number))]
        for name in ('scores', 'proxies', 'rankers'):
            values = getattr(self, name)
            checks.append(
                (name, isinstance(values, dict)
                 and all(isinstance(v, number) for v in values.values())))
        bad = [name for name, ok in checks if not ok]
        if bad:
            raise UserError(f'{where} (arch {self.arch!r}) has a bad '
                            f'{", ".join(bad)}')

    def value(self, column: str) -> float:
        """The value of a search field (``score``, ``flops``, ``params``,
        ``latency``), a tap's score (``scores`` key), a proxy or a
        ranker."""
        if column in ('score', 'flops', 'params', 'latency', 'params_rank'):
            value = getattr(self, column)
        else:
            value = self.proxies.get(column, self.rankers.get(column))
        if value is None:
            raise KeyError(column)
        return float(value)


Record = TypeVar('Record')


def by_bin(records: Iterable[Record]) -> Dict[str, List[Record]]:
    """Records by their ``bin``, bins and records in their order."""
    groups: Dict[str, List[Record]] = {}
    for r in records:
        groups.setdefault(r.bin if hasattr(r, 'bin') else r['bin'],
                          []).append(r)
    return groups
