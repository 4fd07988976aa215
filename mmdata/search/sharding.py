"""Candidates split over the ranks of a (distributed) search, scored in
groups, each record appended to the rank's progress file as it is done."""
import json
from typing import Callable, Dict, List

from mmengine.dist import all_gather_object, get_dist_info
from mmengine.utils import ProgressBar

from .record import Candidate
from .store import SearchStore


def score_sharded(candidates: List[dict], done: Dict[str, Candidate],
                  score_group: Callable[[List[dict]], List[Candidate]],
                  store: SearchStore, group_size: int) -> List[Candidate]:
    """Records of ``candidates``, in their order, on every rank.

    Candidates already in ``done`` (by arch) are not scored again; the rest
    are dealt round-robin to the ranks and scored ``group_size`` at a time
    by ``score_group`` (candidates -> records). Each rank appends its
    records to ``store.progress_file(rank)`` and all records are gathered
    into ``done``.
    """
    rank, world_size = get_dist_info()
    todo = [c for c in candidates if str(c['arch']) not in done]
    mine = todo[rank::world_size]
    bar = ProgressBar(len(mine)) if rank == 0 and mine else None
    new = []
    with open(store.progress_file(rank), 'a') as f:
        for start in range(0, len(mine), group_size):
            for record in score_group(mine[start:start + group_size]):
                f.write(json.dumps(record.to_json()) + '\n')
                new.append(record)
                if bar:
                    bar.update()
            f.flush()
    if bar:
        print()
    for records in all_gather_object(new):
        for record in records:
            done[record.arch] = record
    return [done[str(c['arch'])] for c in candidates]
