from .frozen_features import (calibrated_features, extract_features,
                              fixed_projection, knn_top1, labeled_loaders,
                              linear_probe_top1, normalizer)

__all__ = [
    'calibrated_features', 'extract_features', 'fixed_projection', 'knn_top1',
    'labeled_loaders', 'linear_probe_top1', 'normalizer'
]
