"""`SearchLoop`: label-free, domain- and task-aware subnet search (§3.3)."""
import json
import os.path as osp
import random
from typing import Dict, List, Optional, Sequence, Union

from mmengine.dist import (all_gather_object, barrier, broadcast_object_list,
                           get_dist_info, is_main_process)
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop
from mmengine.utils import ProgressBar

from mmdata.errors import ConfigError, UserError
from mmdata.registry import LOOPS
from mmdata.search.candidates import (Measures, bin_ranges, bin_seed,
                                      candidate, check_metric, parse_budgets,
                                      parse_constraints, sample_candidates,
                                      within)
from mmdata.search.evolution import next_generation
from mmdata.search.outputs import combine_tap_scores, write_outputs
from mmdata.search.proxies import check_proxies
from mmdata.search.scorer import SubnetScorer
from mmdata.search.similarity import SIMILARITIES
from mmdata.search.store import SearchStore
from mmdata.search.target import TargetBatches, split_target
from mmdata.search.taps import TAP_NAMES, resolve_taps
from mmdata.space import Arch, LatencyTable
from mmdata.utils.files import file_sha256


@LOOPS.register_module()
class SearchLoop(BaseLoop):
    """Pick, per compute budget, the subnet whose task features on the
    target images are closest to the max-arch teacher's.

    Use it as ``train_cfg`` of a config that builds the supernet algorithm
    and, as ``train_dataloader``, the unlabeled target (downstream) images
    with a fixed-size test pipeline; load the supernet with ``load_from``.

    Target images are a seeded random subset of the dataset: the
    calibration and the scoring images are disjoint and drawn from one
    permutation (``seed``). They are streamed, never cached, and candidates
    are scored in groups of ``candidates_per_pass``: per group, one pass
    over the calibration images and one over the scoring images, where the
    teacher runs once per batch (see :mod:`mmdata.search.scorer`). Memory
    thus grows with the group and the batch, not with the number of images;
    time grows linearly with it.
    Results go to ``work_dir/search/``: ``candidates.json``, ``best.yaml``,
    ``search.png``. ``search/progress/`` (:mod:`mmdata.search.store`) locks
    the folder, records the search's identity (checkpoint content, target
    data, settings: a search of another identity is refused) and the scored
    candidates, so a killed search resumes where it stopped.

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): Target images (labels unused).
        budgets (list, optional): ``(lo, hi)`` ranges (or dicts with
            ``name``, ``lo``, ``hi``) of ``metric``, in FLOPs, params or
            milliseconds. Defaults to the paper's 1-8 GFLOPs bins, 1 G wide.
        metric (str): ``'flops'``, ``'params'`` or ``'latency'`` (predicted
            by ``latency_table``).
        input_size (int | tuple): Input size the FLOPs are counted at (224).
        latency_table (str, optional): A table written by
            ``tools/analysis/measure_latency.py`` for this space and input
            size; every candidate then carries its predicted ``latency`` (ms).
        latency_setting (dict, optional): What the table must have been
            measured with (``device``, e.g. ``'cpu'`` or the GPU's name as
            the table's header writes it, ``batch_size``, ``threads``): a
            table measured otherwise is refused.
        constraints (dict, optional): ``flops``, ``params`` and/or
            ``latency`` limits, each ``(lo, hi)`` or an upper bound ``hi``
            (exclusive), that every candidate must meet besides its bin.
            Candidates are drawn uniformly among the archs meeting all.
        num_candidates (int): Candidates per bin (random strategy), unique
            and uniform inside the bin. Defaults to 100.
        tap (str | list): ``cls`` (z), ``det_c4`` (C5), ``det_fpn``
            (C2-C5), ``seg`` (C4-C5) or a list of stages / ``'z'``.
        similarity (str): ``relation`` (Eq. 4-5), ``cosine`` or ``mse``.
        temperature (float): Temperature of the relations.
        chunk_size (int): Relation rows computed at once.
        calib_batches (int): Target batches used to recalibrate BN.
        score_batches (int, optional): Target batches the features are
            compared on; ``None``: every image not used for calibration
            (whole batches).
        max_positions (int, optional): Positions a feature map keeps for
            its relations: larger maps (C2 at detection sizes) are
            average-pooled to at most this many (aspect ratio kept).
            Defaults to 56 x 56, the paper's C2 at 224 px; ``None`` keeps
            all.
        candidates_per_pass (int): Candidates scored per pass over the
            target images (their static copies are alive together).
            Results do not depend on it.
        calibrate_teacher (bool): Recalibrate the teacher's BN as well.
        source (str): Candidates from the ``'student'`` supernet (default)
            or the ``'teacher'`` EMA weights.
        proxies (list[str]): Label-free baselines stored next to the score
            of every candidate (``'naswot'``, ``'synflow'``, see
            :mod:`mmdata.search.proxies`), for ranking studies. FLOPs and
            params are always stored. Defaults to none.
        strategy (str): ``'random'`` or ``'evolution'``.
        evolution (dict): ``population`` (per bin), ``generations``,
            ``parents``, ``mutation_prob``.
        seed (int): Seed of candidate sampling.
        out_dir (str): Sub-folder of ``work_dir`` for the outputs.
        overwrite (bool): Drop the results of an earlier search in
            ``out_dir`` instead of refusing when its identity differs.
    """

    def __init__(self,
                 runner,
                 dataloader,
                 budgets: Optional[Sequence] = None,
                 metric: str = 'flops',
                 input_size: Union[int, Sequence[int]] = 224,
                 latency_table: Optional[str] = None,
                 latency_setting: Optional[dict] = None,
                 constraints: Optional[dict] = None,
                 num_candidates: int = 100,
                 tap: Union[str, Sequence] = 'cls',
                 similarity: str = 'relation',
                 temperature: float = 0.1,
                 chunk_size: int = 1024,
                 calib_batches: int = 10,
                 score_batches: Optional[int] = 4,
                 max_positions: Optional[int] = 56 * 56,
                 candidates_per_pass: int = 8,
                 calibrate_teacher: bool = True,
                 source: str = 'student',
                 proxies: Sequence[str] = (),
                 strategy: str = 'random',
                 evolution: Optional[dict] = None,
                 seed: int = 0,
                 out_dir: str = 'search',
                 overwrite: bool = False) -> None:
        super().__init__(runner, dataloader)
        check_metric(metric)
        if similarity not in SIMILARITIES:
            raise ConfigError(f'similarity={similarity!r}: choose one of '
                              f'{SIMILARITIES}')
        if strategy not in ('random', 'evolution'):
            raise ConfigError(f"strategy={strategy!r}: choose 'random' or "
                              "'evolution'")
        if source not in ('student', 'teacher'):
            raise ConfigError(f"source={source!r}: choose 'student' or "
                              "'teacher'")
        for name, value in (('calib_batches', calib_batches),
                            ('score_batches', score_batches),
                            ('max_positions', max_positions),
                            ('candidates_per_pass', candidates_per_pass),
                            ('num_candidates', num_candidates)):
            if value is not None and value < 1:
                raise ConfigError(f'{name}={value}, allowed >= 1')
        self.bins = parse_budgets(budgets, metric, input_size)
        self.metric = metric
        self.input_size = input_size
        self.latency_table = latency_table
        self.latency_setting = latency_setting
        self.constraints = parse_constraints(constraints)
        self.num_candidates = num_candidates
        self.taps = resolve_taps(tap)
        self.similarity = similarity
        self.temperature = temperature
        self.chunk_size = chunk_size
        self.calib_batches = calib_batches
        self.score_batches = score_batches
        self.max_positions = max_positions
        self.candidates_per_pass = candidates_per_pass
        self.calibrate_teacher = calibrate_teacher
        self.source = source
        self.proxies = check_proxies(proxies)
        self.strategy = strategy
        self.evolution = dict(
            population=20, generations=4, parents=5, mutation_prob=0.3)
        self.evolution.update(evolution or {})
        self.seed = seed
        self.out_dir = osp.join(runner.work_dir, out_dir)
        self.store = SearchStore(self.out_dir)
        self.overwrite = overwrite
        # the Runner reads these from its train loop
        self._epoch = self._iter = 0
        self._max_epochs = self._max_iters = 1

    @property
    def max_epochs(self) -> int:
        return self._max_epochs

    @property
    def max_iters(self) -> int:
        return self._max_iters

    @property
    def epoch(self) -> int:
        return self._epoch

    @property
    def iter(self) -> int:
        return self._iter

    # ------------------------------------------------------------------ run
    def run(self) -> None:
        model = self.runner.model
        model = model.module if is_model_wrapper(model) else model
        for attr in ('backbone', 'teacher', 'space'):
            if not hasattr(model, attr):
                raise TypeError('SearchLoop needs an mmdata supernet '
                                f'algorithm, got {type(model).__name__}')
        self.space = model.space
        self.measures = Measures(
            self.space, self.input_size,
            LatencyTable.load(self.latency_table)
            if self.latency_table else None, self.latency_setting)

        def draw(bins: List[dict], num: int) -> List[dict]:
            return sample_candidates(
                self.space, bins, num, self.seed, self.metric,
                constraints=self.constraints, measures=self.measures)

        if self.strategy == 'random':
            todo = draw(self.bins, self.num_candidates)
        else:
            todo = [draw([b], self.evolution['population'])
                    for b in self.bins]
        self._open_store()
        try:
            self._build_scorer(model)
            self.seconds: List[Dict[str, float]] = []
            records = self._score_all(todo) if self.strategy == 'random' \
                else self._evolve(todo)
            combine_tap_scores(records)
            self._log_cost()
            if is_main_process():
                write_outputs(self.out_dir, records, self.bins, self.metric,
                              [TAP_NAMES[t] for t in self.taps],
                              self.input_size)
                print_log(f'search results written to {self.out_dir}',
                          logger='current')
            barrier()
        finally:
            if is_main_process():
                self.store.unlock()

    def _build_scorer(self, model) -> None:
        student = model.teacher.backbone if self.source == 'teacher' \
            else model.backbone
        student_neck = model.teacher.neck if self.source == 'teacher' \
            else model.neck
        calib, score = self._target_images(model)
        model.eval()
        self.scorer = SubnetScorer(
            student,
            model.teacher.backbone,
            student_neck,
            model.teacher.neck,
            self.taps,
            calib,
            score,
            similarity=self.similarity,
            tau=self.temperature,
            chunk=self.chunk_size,
            calibrate_teacher=self.calibrate_teacher,
            proxies=self.proxies,
            max_positions=self.max_positions)

    # ---------------------------------------------------------------- images
    def _target_images(self, model) -> tuple:
        """Calibration and scoring batches: a seeded subset, streamed on
        the model's device; every rank reads the same images."""
        calib, score = split_target(
            len(self.dataloader.dataset), self.dataloader.batch_size,
            self.calib_batches, self.score_batches, self.seed)
        print_log(
            f'target images: {len(calib)} for BN calibration and '
            f'{len(score)} to score on, drawn from '
            f'{len(self.dataloader.dataset)} (seed {self.seed})',
            logger='current')
        device = model.backbone.conv1.weight.device
        return tuple(
            TargetBatches(self.dataloader, indices, model.data_preprocessor,
                          device) for indices in (calib, score))

    # ---------------------------------------------------------------- resume
    def _identity(self) -> dict:
        """Everything the scores depend on (see :mod:`mmdata.search.store`)."""
        checkpoint = self.runner._load_from
        loader = self.runner.cfg.get('train_dataloader') or {}
        dataset = loader.get('dataset', {})
        return dict(
            checkpoint_sha256=file_sha256(checkpoint)
            if checkpoint and osp.isfile(checkpoint) else checkpoint,
            source=self.source,
            dataset=dataset.to_dict() if hasattr(dataset, 'to_dict') else
            dataset,
            batch_size=loader.get('batch_size'),
            calib_batches=self.calib_batches,
            score_batches=self.score_batches,
            max_positions=self.max_positions,
            budgets=self.bins,
            metric=self.metric,
            input_size=self.input_size,
            latency_table_sha256=file_sha256(self.latency_table)
            if self.latency_table else None,
            constraints=self.constraints,
            taps=[TAP_NAMES[t] for t in self.taps],
            similarity=self.similarity,
            temperature=self.temperature,
            calibrate_teacher=self.calibrate_teacher,
            proxies=self.proxies,
            strategy=self.strategy,
            evolution=self.evolution if self.strategy == 'evolution' else
            None,
            seed=self.seed)

    def _open_store(self) -> None:
        """Lock the output folder and check the identity (rank 0); every
        rank raises the same error."""
        error = [None]
        if is_main_process():
            try:
                self.store.open(self._identity(), self.overwrite)
            except UserError as err:
                error = [err]
        broadcast_object_list(error)
        if error[0] is not None:
            raise error[0]
        self.done = self.store.records()
        if self.done:
            print_log(f'resuming the search: {len(self.done)} candidates '
                      'already scored', logger='current')

    # --------------------------------------------------------------- scoring
    def _score_all(self, candidates: List[dict]) -> List[dict]:
        """Score candidates not yet done, split across ranks and scored
        ``candidates_per_pass`` at a time; every rank gets all records
        back, in the order of ``candidates``."""
        rank, world_size = get_dist_info()
        todo = [c for c in candidates if str(c['arch']) not in self.done]
        mine = todo[rank::world_size]
        progress_file = self.store.progress_file(rank)
        bar = ProgressBar(len(mine)) if rank == 0 and mine else None
        new = []
        step = self.candidates_per_pass
        with open(progress_file, 'a') as f:
            for start in range(0, len(mine), step):
                group = mine[start:start + step]
                results = self.scorer.evaluate_group(
                    [c['arch'] for c in group])
                for c, result in zip(group, results):
                    record = self._record(c, result)
                    f.write(json.dumps(record) + '\n')
                    new.append(record)
                    if bar:
                        bar.update()
                f.flush()
        if bar:
            print()
        for records in all_gather_object(new):
            for record in records:
                self.done[record['arch']] = record
        return [self.done[str(c['arch'])] for c in candidates]

    def _record(self, c: dict, result: dict) -> dict:
        self.seconds.append(result['seconds'])
        return dict(
            arch=str(c['arch']),
            arch_dict=c['arch'].to_dict(),
            bin=c['bin'],
            **{name: c[name] for name in self.measures.names},
            scores=result['scores'],
            proxies=result['proxies'])

    def _log_cost(self) -> None:
        """Log the mean seconds per candidate of the score and each proxy
        (candidates scored by this process in this run; not stored, so
        that results stay reproducible)."""
        timed = self.seconds
        if timed:
            cost = ', '.join(f'{k} {sum(t[k] for t in timed) / len(timed):.3f}'
                             for k in timed[0])
            print_log(f'seconds per candidate ({len(timed)} candidates): '
                      f'{cost}', logger='current')

    def _evolve(self, populations: List[List[dict]]) -> List[dict]:
        """Evolutionary search inside each bin (mutation + crossover),
        starting from each bin's random population."""
        cfg = self.evolution
        records: List[dict] = []
        for b, population in zip(self.bins, populations):
            rng = random.Random(bin_seed(self.seed, b) + '-evolution')
            seen = {c['arch'] for c in population}
            scored = self._score_all(population)

            ranges = bin_ranges(b, self.metric, self.constraints)

            def in_budget(arch: Arch) -> bool:
                return within(self.measures.of(arch), ranges)

            for _ in range(cfg['generations']):
                combine_tap_scores(scored)
                ranked = sorted(scored, key=lambda r: -r['score'])
                parents = [Arch.parse(r['arch'])
                           for r in ranked[:cfg['parents']]]
                children = next_generation(parents, self.space, in_budget,
                                           seen, cfg['population'], rng,
                                           cfg['mutation_prob'])
                if not children:
                    break
                scored += self._score_all([
                    candidate(arch, b['name'], self.measures)
                    for arch in children
                ])
            records += scored
        return records
