from mmdata.models.utils.calibration import calibrate_bn
from .budgets import parse_budgets
from .candidates import sample_candidates
from .outputs import best_per_bin, read_candidates, write_outputs
from .record import Candidate, by_bin
from .scorer import FeatureExtractor, SubnetScorer, static_extractor
from .settings import SearchSettings
from .similarity import embedding_similarity, get_similarity, map_similarity
from .taps import TAPS, resolve_taps

__all__ = [
    'calibrate_bn', 'parse_budgets', 'sample_candidates', 'best_per_bin',
    'read_candidates', 'Candidate', 'by_bin', 'write_outputs',
    'FeatureExtractor', 'SubnetScorer', 'static_extractor', 'SearchSettings',
    'embedding_similarity', 'get_similarity', 'map_similarity', 'TAPS',
    'resolve_taps'
]
