"""`SearchLoop`: label-free, domain- and task-aware subnet search (§3.3)."""
import json
import os
import os.path as osp
import random
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.dist import (all_gather_object, barrier, get_dist_info,
                           is_main_process)
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop
from mmengine.utils import ProgressBar
from torch import Tensor
from torch.utils.data import DataLoader

from mmdata.registry import LOOPS
from mmdata.search.candidates import (METRICS, candidate, parse_budgets,
                                      sample_candidates)
from mmdata.search.evolution import next_generation
from mmdata.search.outputs import write_outputs
from mmdata.search.proxies import check_proxies
from mmdata.search.scorer import SubnetScorer
from mmdata.search.similarity import SIMILARITIES
from mmdata.search.taps import TAP_NAMES, resolve_taps
from mmdata.space import Arch, arch_cost


@LOOPS.register_module()
class SearchLoop(BaseLoop):
    """Pick, per compute budget, the subnet whose task features on the
    target images are closest to the max-arch teacher's.

    Use it as ``train_cfg`` of a config that builds the supernet algorithm
    and, as ``train_dataloader``, the unlabeled target (downstream) images
    with a fixed-size test pipeline; load the supernet with ``load_from``.
    Results go to ``work_dir/search/``: ``candidates.json``, ``best.yaml``,
    ``search.png``. Scored candidates are also appended to
    ``search/progress/rank*.jsonl``, so a killed search resumes where it
    stopped.

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): Target images (labels unused).
        budgets (list, optional): ``(lo, hi)`` ranges (or dicts with
            ``name``, ``lo``, ``hi``) of ``metric``. Defaults to the paper's
            1-8 GFLOPs bins, 1 G wide.
        metric (str): ``'flops'`` or ``'params'``.
        input_size (int | tuple): Input size the FLOPs are counted at (224).
        num_candidates (int): Candidates per bin (random strategy), unique
            and uniform inside the bin. Defaults to 100.
        tap (str | list): ``cls`` (z), ``det_c4`` (C5), ``det_fpn``
            (C2-C5), ``seg`` (C4-C5) or a list of stages / ``'z'``.
        similarity (str): ``relation`` (Eq. 4-5), ``cosine`` or ``mse``.
        temperature (float): Temperature of the relations.
        chunk_size (int): Relation rows computed at once.
        calib_batches (int): Target batches used to recalibrate BN.
        score_batches (int): Target batches the features are compared on.
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
    """

    def __init__(self,
                 runner,
                 dataloader,
                 budgets: Optional[Sequence] = None,
                 metric: str = 'flops',
                 input_size: Union[int, Sequence[int]] = 224,
                 num_candidates: int = 100,
                 tap: Union[str, Sequence] = 'cls',
                 similarity: str = 'relation',
                 temperature: float = 0.1,
                 chunk_size: int = 1024,
                 calib_batches: int = 10,
                 score_batches: int = 4,
                 calibrate_teacher: bool = True,
                 source: str = 'student',
                 proxies: Sequence[str] = (),
                 strategy: str = 'random',
                 evolution: Optional[dict] = None,
                 seed: int = 0,
                 out_dir: str = 'search') -> None:
        super().__init__(runner, dataloader)
        if metric not in METRICS:
            raise ValueError(f'metric={metric!r}: choose one of {METRICS}')
        if similarity not in SIMILARITIES:
            raise ValueError(f'similarity={similarity!r}: choose one of '
                             f'{SIMILARITIES}')
        if strategy not in ('random', 'evolution'):
            raise ValueError(f"strategy={strategy!r}: choose 'random' or "
                             "'evolution'")
        if source not in ('student', 'teacher'):
            raise ValueError(f"source={source!r}: choose 'student' or "
                             "'teacher'")
        for name, value in (('calib_batches', calib_batches),
                            ('score_batches', score_batches),
                            ('num_candidates', num_candidates)):
            if value < 1:
                raise ValueError(f'{name}={value}, allowed >= 1')
        self.bins = parse_budgets(budgets)
        self.metric = metric
        self.input_size = input_size
        self.num_candidates = num_candidates
        self.taps = resolve_taps(tap)
        self.similarity = similarity
        self.temperature = temperature
        self.chunk_size = chunk_size
        self.calib_batches = calib_batches
        self.score_batches = score_batches
        self.calibrate_teacher = calibrate_teacher
        self.source = source
        self.proxies = check_proxies(proxies)
        self.strategy = strategy
        self.evolution = dict(
            population=20, generations=4, parents=5, mutation_prob=0.3)
        self.evolution.update(evolution or {})
        self.seed = seed
        self.out_dir = osp.join(runner.work_dir, out_dir)
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
        self._check_signature()
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
            proxies=self.proxies)
        self.space = model.space
        self.done = self._load_progress()
        self.seconds: List[Dict[str, float]] = []
        if self.strategy == 'random':
            records = self._score_all(
                sample_candidates(self.space, self.bins, self.num_candidates,
                                  self.seed, self.metric, self.input_size))
        else:
            records = self._evolve()
        self._log_cost()
        if is_main_process():
            write_outputs(self.out_dir, records, self.bins, self.metric,
                          [TAP_NAMES[t] for t in self.taps])
            print_log(f'search results written to {self.out_dir}',
                      logger='current')
        barrier()

    # ---------------------------------------------------------------- images
    @torch.no_grad()
    def _target_images(self, model) -> tuple:
        """The first ``calib + score`` target batches (dataset order),
        normalised."""
        needed = self.calib_batches + self.score_batches
        batches: List[Tensor] = []
        device = model.backbone.conv1.weight.device
        # every rank compares on the same images: no rank-sharding sampler
        loader = DataLoader(
            self.dataloader.dataset,
            batch_size=self.dataloader.batch_size,
            shuffle=False,
            num_workers=self.dataloader.num_workers,
            collate_fn=self.dataloader.collate_fn)
        for batch in loader:
            batches.append(
                to_image_batch(batch, model.data_preprocessor).to(device))
            if len(batches) == needed:
                break
        if len(batches) < needed:
            raise ValueError(
                f'the search dataloader yields {len(batches)} batches; '
                f'calib_batches + score_batches = {needed} are needed')
        return batches[:self.calib_batches], batches[self.calib_batches:]

    # ---------------------------------------------------------------- resume
    def _signature(self) -> dict:
        checkpoint = self.runner._load_from
        stat = os.stat(checkpoint) if checkpoint and osp.isfile(
            checkpoint) else None
        return dict(
            checkpoint=checkpoint,
            # a retrained checkpoint at the same path must not reuse scores
            checkpoint_size=stat and stat.st_size,
            checkpoint_mtime=stat and stat.st_mtime,
            taps=[TAP_NAMES[t] for t in self.taps],
            similarity=self.similarity,
            temperature=self.temperature,
            calib_batches=self.calib_batches,
            score_batches=self.score_batches,
            calibrate_teacher=self.calibrate_teacher,
            source=self.source,
            proxies=self.proxies,
            input_size=self.input_size)

    def _check_signature(self) -> None:
        """Refuse to mix results of differently configured searches."""
        path = osp.join(self.out_dir, 'progress', 'signature.json')
        signature = json.loads(json.dumps(self._signature()))
        if osp.exists(path):
            with open(path) as f:
                saved = json.load(f)
            if saved != signature:
                raise ValueError(
                    f'{self.out_dir} holds results of a search configured '
                    f'differently ({saved} vs {signature}); use another '
                    'work_dir or delete it')
        elif is_main_process():
            os.makedirs(osp.dirname(path), exist_ok=True)
            _atomic_write(path, json.dumps(signature, indent=2))
        barrier()

    def _load_progress(self) -> Dict[str, dict]:
        done = {}
        folder = osp.join(self.out_dir, 'progress')
        for name in sorted(os.listdir(folder)) if osp.isdir(folder) else []:
            if not name.endswith('.jsonl'):
                continue
            with open(osp.join(folder, name)) as f:
                for line in f:
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a line cut by a kill
                    done[record['arch']] = record
        if done:
            print_log(f'resuming the search: {len(done)} candidates already '
                      'scored', logger='current')
        return done

    # --------------------------------------------------------------- scoring
    def _score_all(self, candidates: List[dict]) -> List[dict]:
        """Score candidates not yet done, split across ranks; every rank gets
        all records back, in the order of ``candidates``."""
        rank, world_size = get_dist_info()
        todo = [c for c in candidates if str(c['arch']) not in self.done]
        mine = todo[rank::world_size]
        progress_file = osp.join(self.out_dir, 'progress',
                                 f'rank{rank}.jsonl')
        os.makedirs(osp.dirname(progress_file), exist_ok=True)
        bar = ProgressBar(len(mine)) if rank == 0 and mine else None
        new = []
        with open(progress_file, 'a') as f:
            for c in mine:
                record = self._score(c)
                f.write(json.dumps(record) + '\n')
                f.flush()
                new.append(record)
                if bar:
                    bar.update()
        if bar:
            print()
        for records in all_gather_object(new):
            for record in records:
                self.done[record['arch']] = record
        return [self.done[str(c['arch'])] for c in candidates]

    def _score(self, c: dict) -> dict:
        result = self.scorer.evaluate(c['arch'])
        self.seconds.append(result['seconds'])
        scores = result['scores']
        return dict(
            arch=str(c['arch']),
            arch_dict=c['arch'].to_dict(),
            bin=c['bin'],
            flops=c['flops'],
            params=c['params'],
            scores=scores,
            score=sum(scores.values()) / len(scores),
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

    def _evolve(self) -> List[dict]:
        """Evolutionary search inside each bin (mutation + crossover)."""
        cfg = self.evolution
        records: List[dict] = []
        for b in self.bins:
            rng = random.Random(f"{self.seed}-{b['name']}-evolution")
            population = sample_candidates(
                self.space, [b], cfg['population'], self.seed, self.metric,
                self.input_size)
            seen = {c['arch'] for c in population}
            scored = self._score_all(population)

            def in_budget(arch: Arch) -> bool:
                cost = arch_cost(arch, self.input_size)
                value = getattr(cost, self.metric)
                return b['lo'] <= value < b['hi']

            for _ in range(cfg['generations']):
                ranked = sorted(scored, key=lambda r: -r['score'])
                parents = [Arch.parse(r['arch'])
                           for r in ranked[:cfg['parents']]]
                children = next_generation(parents, self.space, in_budget,
                                           seen, cfg['population'], rng,
                                           cfg['mutation_prob'])
                if not children:
                    break
                scored += self._score_all([
                    candidate(arch, b['name'], self.input_size)
                    for arch in children
                ])
            records += scored
        return records


def to_image_batch(batch: dict, preprocessor) -> Tensor:
    """Stack a batch's images and normalise them as the model's data
    preprocessor would (mean/std, BGR->RGB); labels are ignored."""
    inputs = batch['inputs']
    if isinstance(inputs, (list, tuple)):
        shapes = {tuple(x.shape) for x in inputs}
        if len(shapes) != 1:
            raise ValueError(
                f'search images have different sizes {sorted(shapes)}; use a '
                'test pipeline with a fixed-size Resize/CenterCrop')
        inputs = torch.stack(list(inputs))
    if getattr(preprocessor, '_channel_conversion', False) and \
            inputs.shape[1] == 3:
        inputs = inputs[:, [2, 1, 0]]
    inputs = inputs.float()
    if getattr(preprocessor, '_enable_normalize', False):
        inputs = (inputs - preprocessor.mean.cpu()) / preprocessor.std.cpu()
    return inputs


def _atomic_write(path: str, text: str) -> None:
    tmp = f'{path}.tmp'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)
