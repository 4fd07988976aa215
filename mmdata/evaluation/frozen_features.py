"""Frozen-feature evaluation of a subnet on a labeled dataset: kNN and a
linear probe (both after BN recalibration on the training split)."""
import warnings
from typing import Callable, Iterator, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmengine.utils import ProgressBar
from torch import Tensor
from torch.utils.data import DataLoader, Subset

from mmdata.errors import ConfigError
from mmdata.models.utils.calibration import calibrate_bn
from mmdata.models.utils.image_batch import to_image_batch
from mmdata.registry import MODELS
from mmdata.space import ResNetSpace


def normalizer(cfg: Config) -> Callable[[Tensor], Tensor]:
    """Normalise image batches as the model's data preprocessor does
    (BGR->RGB when it converts, mean/std): the search's
    :func:`~mmdata.models.utils.image_batch.to_image_batch`, one normaliser
    for both."""
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        pre = MODELS.build(cfg.model.data_preprocessor)
    return lambda x: to_image_batch(dict(inputs=x), pre)


def initial_backbone(cfg: Config, seed: int = 0) -> Tuple[dict, ResNetSpace]:
    """The backbone state dict and space of ``cfg``'s supernet as
    initialised with ``seed`` (untrained: the reference of an evaluation)."""
    torch.manual_seed(seed)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        supernet = MODELS.build(cfg.model)
    supernet.init_weights()
    return supernet.backbone.state_dict(), supernet.space


def labeled_loaders(
        cfg: Config,
        max_train: Optional[int] = None,
        max_test: Optional[int] = None,
        seed: Optional[int] = None) -> Tuple[DataLoader, DataLoader]:
    """Loaders of ``cfg.probe_train_dataloader`` / ``probe_test_dataloader``.

    With ``max_*``, a subset of that many samples: the first ones, or, when
    ``seed`` is given, a seeded random subset (the probe's seed draws its
    training images and thereby its BN calibration batches).
    """
    loaders = []
    for i, (key, limit) in enumerate((('probe_train_dataloader', max_train),
                                      ('probe_test_dataloader', max_test))):
        if key not in cfg:
            raise ConfigError(f'the config defines no {key} (a labeled '
                              'split for frozen-feature evaluation)')
        with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
            loader = Runner.build_dataloader(cfg[key])
        if limit is not None and limit < len(loader.dataset):
            if seed is None:
                index = range(limit)
            else:
                gen = torch.Generator().manual_seed(seed * 2 + i)
                index = torch.randperm(
                    len(loader.dataset), generator=gen)[:limit].tolist()
            loader = DataLoader(
                Subset(loader.dataset, index),
                batch_size=loader.batch_size,
                num_workers=loader.num_workers,
                collate_fn=loader.collate_fn)
        loaders.append(loader)
    return loaders[0], loaders[1]


def images_and_labels(loader: DataLoader,
                      norm: Callable) -> Iterator[Tuple[Tensor, Tensor]]:
    for batch in loader:
        labels = torch.tensor(
            [s.gt_label.item() for s in batch['data_samples']])
        yield norm(batch['inputs']), labels


@torch.no_grad()
def extract_features(model: nn.Module,
                     loader: DataLoader,
                     norm: Callable,
                     progress: bool = True) -> Tuple[Tensor, Tensor]:
    """Globally pooled last-stage features and labels of a whole split."""
    feats, labels = [], []
    bar = ProgressBar(len(loader)) if progress else None
    for images, target in images_and_labels(loader, norm):
        feats.append(model(images)[-1].mean(dim=(2, 3)))
        labels.append(target)
        if bar:
            bar.update()
    if bar:
        print()
    return torch.cat(feats), torch.cat(labels)


def calibrated_features(model: nn.Module,
                        train_loader: DataLoader,
                        test_loader: DataLoader,
                        norm: Callable,
                        calib_batches: int,
                        progress: bool = True):
    """BN-calibrate ``model`` on the train split, then extract both splits."""
    calibrate_bn(model, (x for x, _ in images_and_labels(train_loader, norm)),
                 calib_batches)
    return (extract_features(model, train_loader, norm, progress),
            extract_features(model, test_loader, norm, progress))


def knn_top1(train_f: Tensor,
             train_y: Tensor,
             test_f: Tensor,
             test_y: Tensor,
             k: int = 20,
             t: float = 0.07) -> float:
    """Weighted kNN top-1 (cosine similarity, votes ``exp(sim / t)``)."""
    train_f, test_f = F.normalize(train_f, dim=1), F.normalize(test_f, dim=1)
    num_classes = int(train_y.max()) + 1
    correct = 0
    for start in range(0, len(test_f), 512):
        sim = test_f[start:start + 512] @ train_f.t()
        top_sim, top_idx = sim.topk(k, dim=1)
        votes = torch.zeros(len(top_idx), num_classes)
        votes.scatter_add_(1, train_y[top_idx], (top_sim / t).exp())
        correct += (votes.argmax(1) == test_y[start:start + 512]).sum().item()
    return correct / len(test_f)


def fixed_projection(train_f: Tensor,
                     test_f: Tensor,
                     width: int,
                     seed: int = 0) -> Tuple[Tensor, Tensor]:
    """Both splits' features standardised (train statistics) and projected
    by one seeded Gaussian matrix to ``width`` features: a readout of the
    same width for every arch, whatever its feature width."""
    if width < 1:
        raise ConfigError(f'projection width={width}, allowed >= 1')
    mean, std = train_f.mean(0), train_f.std(0) + 1e-6
    gen = torch.Generator().manual_seed(seed)
    matrix = torch.randn(
        train_f.shape[1], width, generator=gen,
        dtype=train_f.dtype) / train_f.shape[1]**0.5
    return ((train_f - mean) / std) @ matrix, ((test_f - mean) / std) @ matrix


def linear_probe_top1(train_f: Tensor,
                      train_y: Tensor,
                      test_f: Tensor,
                      test_y: Tensor,
                      c: float = 0.1,
                      max_iter: int = 1000,
                      tol: float = 1e-4) -> float:
    """Top-1 of a multinomial logistic regression (L2, ``C = c``) on
    standardised frozen features, solved to convergence (``tol``) by
    scikit-learn's L-BFGS: a convex problem, so the result does not depend
    on a seed. Not converging in ``max_iter`` iterations is an error."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    mean, std = train_f.mean(0), train_f.std(0) + 1e-6
    x_train = ((train_f - mean) / std).double().numpy()
    x_test = ((test_f - mean) / std).double().numpy()
    classifier = LogisticRegression(C=c, max_iter=max_iter, tol=tol)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always', ConvergenceWarning)
        classifier.fit(x_train, train_y.numpy())
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        raise ConfigError(f'the linear probe did not converge in '
                          f'max_iter={max_iter} L-BFGS iterations; allow '
                          'more (--max-iter)')
    return float((classifier.predict(x_test) == test_y.numpy()).mean())
