"""Evolutionary search in a bin: mutation, crossover and the driver."""
import random
from typing import Callable, List, Sequence

from mmdata.space import Arch, ResNetSpace
from .budgets import Ranges, bin_ranges, bin_seed, within
from .candidates import Measures, candidate
from .outputs import combine_tap_scores
from .record import Candidate


def _genes(arch: Arch) -> List[int]:
    return [arch.stem, *arch.widths, *arch.depths]


def _from_genes(genes: Sequence[int]) -> Arch:
    return Arch(genes[0], genes[1:5], genes[5:9])


def _choices(space: ResNetSpace) -> List[Sequence[int]]:
    return [space.stem_choices, *space.width_choices, *space.depth_choices]


def mutate(arch: Arch, space: ResNetSpace, rng: random.Random,
           prob: float) -> Arch:
    """Redraw each of the 9 fields with probability ``prob``."""
    genes = _genes(arch)
    for i, choices in enumerate(_choices(space)):
        if rng.random() < prob:
            genes[i] = rng.choice(choices)
    return _from_genes(genes)


def crossover(a: Arch, b: Arch, rng: random.Random) -> Arch:
    """Take each field from ``a`` or ``b`` with equal probability."""
    return _from_genes([
        ga if rng.random() < 0.5 else gb
        for ga, gb in zip(_genes(a), _genes(b))
    ])


def next_generation(parents: Sequence[Arch],
                    space: ResNetSpace,
                    in_budget: Callable[[Arch], bool],
                    seen: set,
                    size: int,
                    rng: random.Random,
                    mutation_prob: float,
                    max_tries: int = 50) -> List[Arch]:
    """Up to ``size`` new archs inside the budget, half by mutation, half by
    crossover of the parents; gives up after ``max_tries * size`` draws."""
    children: List[Arch] = []
    for attempt in range(max_tries * size):
        if len(children) == size:
            break
        if attempt % 2 == 0 or len(parents) < 2:
            child = mutate(rng.choice(parents), space, rng, mutation_prob)
        else:
            a, b = rng.sample(list(parents), 2)
            child = crossover(a, b, rng)
        if child not in seen and in_budget(child):
            seen.add(child)
            children.append(child)
    return children


def evolve(populations: List[List[dict]], bins: List[dict],
           score: Callable[[List[dict]],
                           List[Candidate]], measures: Measures, metric: str,
           constraints: Ranges, seed: int, population: int, generations: int,
           parents: int, mutation_prob: float) -> List[Candidate]:
    """Evolutionary search inside each bin, from its random population.

    Per generation, the ``parents`` best scored archs of the bin breed up to
    ``population`` new archs (:func:`next_generation`) that stay inside the
    bin and the constraints; ``score`` turns candidates into records with
    per-tap ``scores``. Returns every record of every bin.
    """
    records: List[Candidate] = []
    for b, first in zip(bins, populations):
        rng = random.Random(bin_seed(seed, b) + '-evolution')
        seen = {c['arch'] for c in first}
        scored = score(first)
        ranges = bin_ranges(b, metric, constraints)
        for _ in range(generations):
            combine_tap_scores(scored)
            ranked = sorted(scored, key=lambda r: -r.score)
            best = [Arch.parse(r.arch) for r in ranked[:parents]]
            children = next_generation(
                best, measures.space,
                lambda arch: within(measures.of(arch), ranges), seen,
                population, rng, mutation_prob)
            if not children:
                break
            scored += score(
                [candidate(arch, b['name'], measures) for arch in children])
        records += scored
    return records
