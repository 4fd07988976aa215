"""Target images of a search: a seeded random subset of the target split,
split into calibration and scoring images, streamed as normalised batches
on the model's device (never held all at once)."""
from typing import Iterator, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.logging import print_log
from torch import Tensor
from torch.utils.data import DataLoader, Subset

from mmdata.errors import DataError
from mmdata.models.utils.image_batch import to_image_batch


def split_target(num_images: int, batch_size: int, calib_batches: int,
                 score_batches: Optional[int],
                 seed: int) -> Tuple[np.ndarray, np.ndarray]:
    """Indices of the calibration and the scoring images: disjoint, drawn
    from one permutation seeded by ``seed``. ``score_batches=None`` scores
    on every remaining image (whole batches only)."""
    num_calib = calib_batches * batch_size
    rest = num_images - num_calib
    num_score = (
        rest // batch_size *
        batch_size if score_batches is None else score_batches * batch_size)
    if num_calib + num_score > num_images or num_score < 1:
        wanted = ('all remaining' if score_batches is None else
                  f'{score_batches} x {batch_size}')
        raise DataError(
            f'the target dataset has {num_images} images; calib_batches='
            f'{calib_batches} x batch_size={batch_size} for BN calibration '
            f'plus {wanted} to score on do not fit')
    order = np.random.default_rng(seed).permutation(num_images)
    return order[:num_calib], order[num_calib:num_calib + num_score]


class TargetBatches:
    """Re-iterable normalised image batches of ``dataset[indices]``.

    Args:
        loader (DataLoader): The search's dataloader (its dataset, batch
            size, workers and collate function are used; every rank reads
            the same images, no sampler).
        indices (Sequence[int]): The images, in this order.
        preprocessor: The model's data preprocessor (mean/std, BGR->RGB).
        device (torch.device): Where the batches go.
    """

    def __init__(self, loader: DataLoader, indices: Sequence[int],
                 preprocessor, device: torch.device) -> None:
        self.loader = DataLoader(
            Subset(loader.dataset, [int(i) for i in indices]),
            batch_size=loader.batch_size,
            shuffle=False,
            num_workers=loader.num_workers,
            collate_fn=loader.collate_fn)
        self.preprocessor = preprocessor
        self.device = device

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[Tensor]:
        for batch in self.loader:
            yield to_image_batch(batch, self.preprocessor, self.device)


def target_batches(loader: DataLoader, preprocessor, device: torch.device,
                   calib_batches: int, score_batches: Optional[int],
                   seed: int) -> Tuple['TargetBatches', 'TargetBatches']:
    """The calibration and the scoring batches of ``loader``'s dataset
    (:func:`split_target`), streamed to ``device``; the counts are logged."""
    num_images = len(loader.dataset)
    calib, score = split_target(num_images, loader.batch_size, calib_batches,
                                score_batches, seed)
    print_log(
        f'target images: {len(calib)} for BN calibration and {len(score)} '
        f'to score on, drawn from {num_images} (seed {seed})',
        logger='current')
    return (TargetBatches(loader, calib, preprocessor, device),
            TargetBatches(loader, score, preprocessor, device))
