"""`SearchLoop`: label-free, domain- and task-aware subnet search (§3.3)."""
import os.path as osp
from typing import Dict, List, Sequence

from mmengine.dist import barrier, is_main_process
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop

from mmdata.errors import ConfigError
from mmdata.models.supernet_checkpoint import load_supernet
from mmdata.registry import LOOPS
from mmdata.search.candidates import Measures, sample_candidates
from mmdata.search.evolution import evolve
from mmdata.search.outputs import combine_tap_scores, write_outputs
from mmdata.search.record import Candidate
from mmdata.search.scorer import SubnetScorer, check_finite, log_cost
from mmdata.search.settings import SearchSettings
from mmdata.search.sharding import score_sharded
from mmdata.search.store import SearchStore
from mmdata.search.taps import TAP_NAMES
from mmdata.search.target import target_batches
from mmdata.space import LatencyTable
from mmdata.utils.files import file_sha256


@LOOPS.register_module()
class SearchLoop(BaseLoop):
    """Pick, per budget, the subnet whose task features on the target images
    are closest to the max-arch teacher's (paper §3.3, Eq. 3-5).

    Use it as ``train_cfg`` of a config that builds the supernet algorithm
    and, as ``train_dataloader``, the unlabeled target (downstream) images
    with a fixed-size test pipeline; load the supernet with ``load_from``.

    1. Candidates are drawn uniformly among the archs of each budget bin
       that meet the constraints (or bred by an evolution inside the bin).
    2. Each candidate's weights are sliced from the supernet and its BN
       statistics recalibrated on target images.
    3. Its score is the similarity of its task features' relations to the
       teacher's, averaged over other target images.
    4. The best candidate of each bin is the result.

    Target images are a seeded random subset, streamed, never cached
    (:mod:`mmdata.search.target`, :mod:`mmdata.search.scorer`). Results go
    to ``work_dir/search/``: ``candidates.json``, ``best.yaml``,
    ``search.png``; ``search/progress/`` (:mod:`mmdata.search.store`) locks
    the folder, records the search's identity (checkpoint content, target
    data, settings) and the scored candidates, so that a killed search
    resumes where it stopped and a search of another identity is refused.

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): Target images (labels unused).
        out_dir (str): Sub-folder of ``work_dir`` for the outputs.
        overwrite (bool): Drop the results of an earlier search in
            ``out_dir`` instead of refusing when its identity differs.
        **options: The search's options, see
            :class:`mmdata.search.settings.SearchSettings`.
    """
    # what the Runner reads from its train loop
    epoch = iter = 0
    max_epochs = max_iters = 1

    def __init__(self,
                 runner,
                 dataloader,
                 out_dir: str = 'search',
                 overwrite: bool = False,
                 **options) -> None:
        self.settings = SearchSettings.from_options(**options)
        if not runner._load_from or runner._resume:
            raise ConfigError(
                'a search needs the supernet checkpoint to search: run '
                'tools/search.py CONFIG CHECKPOINT (or set load_from=PATH, '
                f'resume=False; got load_from={runner._load_from!r}, '
                f'resume={runner._resume})')
        super().__init__(runner, dataloader)
        self.out_dir = osp.join(runner.work_dir, out_dir)
        self.store = SearchStore(self.out_dir)
        self.overwrite = overwrite

    def run(self) -> None:
        s = self.settings
        model = self._algorithm()
        # the Runner's load is not strict: a missing or mismatched key would
        # leave a random layer that the search would score
        load_supernet(model, self.runner._load_from)
        table = LatencyTable.load(s.latency_table) if s.latency_table \
            else None
        measures = Measures(model.space, s.input_size, table,
                            s.latency_setting)
        first = self._first_candidates(measures)
        done = self.store.open_on_every_rank(self._identity(), self.overwrite)
        if done:
            print_log(
                f'resuming the search: {len(done)} candidates already '
                'scored',
                logger='current')
        try:
            calib, score = target_batches(self.dataloader,
                                          model.data_preprocessor,
                                          model.backbone.conv1.weight.device,
                                          s.calib_batches, s.score_batches,
                                          s.seed)
            model.eval()
            scorer = SubnetScorer.of_algorithm(model, s, calib, score)
            seconds: List[Dict[str, float]] = []

            def score_group(group: List[dict]) -> List[dict]:
                results = scorer.evaluate_group([c['arch'] for c in group])
                for c, r in zip(group, results):
                    check_finite(c['arch'], r['scores'])
                seconds.extend(r['seconds'] for r in results)
                return scored_records(group, results, measures.names)

            def score_all(candidates: List[dict]) -> List[dict]:
                return score_sharded(candidates, done, score_group, self.store,
                                     s.candidates_per_pass)

            records = score_all(first) if s.strategy == 'random' else evolve(
                first, s.bins, score_all, measures, s.metric, s.constraints,
                s.seed, **s.evolution)
            combine_tap_scores(records)
            log_cost(seconds)
            if is_main_process():
                write_outputs(self.out_dir, records, s.bins, s.metric,
                              [TAP_NAMES[t] for t in s.taps], s.input_size,
                              s.similarity)
                print_log(
                    f'search results written to {self.out_dir}',
                    logger='current')
            barrier()
        finally:
            if is_main_process():
                self.store.unlock()

    def _first_candidates(self, measures: Measures) -> list:
        """The random search's candidates, or each bin's first population
        of the evolution."""
        s = self.settings

        def draw(bins: List[dict], num: int) -> List[dict]:
            return sample_candidates(
                measures.space,
                bins,
                num,
                s.seed,
                s.metric,
                constraints=s.constraints,
                measures=measures)

        if s.strategy == 'random':
            return draw(s.bins, s.num_candidates)
        return [draw([b], s.evolution['population']) for b in s.bins]

    def _algorithm(self):
        model = self.runner.model
        model = model.module if is_model_wrapper(model) else model
        for attr in ('backbone', 'teacher', 'space'):
            if not hasattr(model, attr):
                raise TypeError('SearchLoop needs an mmdata supernet '
                                f'algorithm, got {type(model).__name__}')
        return model

    def _identity(self) -> dict:
        """Everything the scores depend on: the checkpoint's content, the
        target data, the latency table and the settings."""
        checkpoint = self.runner._load_from
        loader = self.runner.cfg.get('train_dataloader') or {}
        dataset = loader.get('dataset', {})
        table = self.settings.latency_table
        return dict(
            checkpoint_sha256=file_sha256(checkpoint)
            if checkpoint and osp.isfile(checkpoint) else checkpoint,
            dataset=dataset.to_dict()
            if hasattr(dataset, 'to_dict') else dataset,
            batch_size=loader.get('batch_size'),
            latency_table_sha256=file_sha256(table) if table else None,
            **self.settings.identity())


def scored_records(group: List[dict], results: List[dict],
                   measures: Sequence[str]) -> List[Candidate]:
    """The records of drawn candidates (``arch``, ``bin`` and the
    ``measures``) and the scorer's results on them."""
    return [
        Candidate(
            arch=str(c['arch']),
            arch_dict=c['arch'].to_dict(),
            bin=c['bin'],
            **{name: c[name]
               for name in measures},
            scores=r['scores'],
            proxies=r['proxies'],
            rankers=r['rankers']) for c, r in zip(group, results)
    ]
