"""`TeacherEMA`: EMA update of the max-arch teacher after each step."""
import math
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdata.errors import ConfigError
from mmdata.registry import HOOKS

DATA_BATCH = Optional[dict]


@HOOKS.register_module()
class TeacherEMA(Hook):
    """teacher <- m * teacher + (1 - m) * student, after each optimizer step.

    Args:
        momentum (float): ``m``, the share of the teacher kept (paper:
            0.999). Must be in [0, 1].
        cosine (bool): Anneal ``m`` from ``momentum`` to 1.0 over training
            with a cosine, as BYOL: ``1 - (1 - m0) * (cos(pi k / K) + 1) / 2``.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, momentum: float = 0.999, cosine: bool = False) -> None:
        if not 0.0 <= momentum <= 1.0:
            raise ConfigError(f'TeacherEMA momentum={momentum}, allowed 0..1')
        self.momentum = momentum
        self.cosine = cosine

    def current_momentum(self, cur_iter: int, max_iters: int) -> float:
        if not self.cosine:
            return self.momentum
        progress = min(cur_iter / max(max_iters, 1), 1.0)
        return 1 - (1 - self.momentum) * (math.cos(math.pi * progress) + 1) / 2

    def before_run(self, runner) -> None:
        model = self._model(runner)
        if not hasattr(model, 'update_teacher'):
            raise TypeError('TeacherEMA needs a model with a teacher '
                            '(an mmdata supernet algorithm), got '
                            f'{type(model).__name__}')

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        if not runner.optim_wrapper.should_update():
            return  # gradient accumulation: no optimizer step this iter
        # runner.iter is the index of this iteration (incremented after)
        momentum = self.current_momentum(runner.iter, runner.max_iters)
        self._model(runner).update_teacher(momentum)
        runner.message_hub.update_scalar('train/teacher_momentum', momentum)

    @staticmethod
    def _model(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model
