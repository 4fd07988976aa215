"""Images of a dataloader batch as one normalised tensor, the way the
model's data preprocessor would see them (search and label metrics)."""
from typing import Optional

import torch
from torch import Tensor

from mmdata.errors import DataError


def to_image_batch(batch: dict,
                   preprocessor,
                   device: Optional[torch.device] = None) -> Tensor:
    """Stack a batch's images, move them to ``device`` and normalise them
    there as the model's data preprocessor would (mean/std, BGR->RGB);
    labels are ignored."""
    inputs = batch['inputs']
    if isinstance(inputs, (list, tuple)):
        shapes = {tuple(x.shape) for x in inputs}
        if len(shapes) != 1:
            raise DataError(
                f'search images have different sizes {sorted(shapes)}; use a '
                'test pipeline with a fixed-size Resize/CenterCrop or Pad')
        inputs = torch.stack(list(inputs))
    if getattr(preprocessor, '_channel_conversion', False) and \
            inputs.shape[1] == 3:
        inputs = inputs[:, [2, 1, 0]]
    inputs = inputs.to(device).float()
    if getattr(preprocessor, '_enable_normalize', False):
        inputs = (inputs - preprocessor.mean.to(inputs.device)) / \
            preprocessor.std.to(inputs.device)
    return inputs
