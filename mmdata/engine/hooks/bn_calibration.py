"""`BNCalibrationHook`: recompute the backbone's BN statistics before
training (paper §4.3: linear evaluation on BN-calibrated features)."""
from mmengine.dist import all_reduce, is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch.nn.modules.batchnorm import _BatchNorm

from mmdata.errors import ConfigError
from mmdata.models.utils.calibration import calibrate_bn
from mmdata.registry import HOOKS


@HOOKS.register_module()
class BNCalibrationHook(Hook):
    """Before the first iteration, re-estimate every BN of ``model.backbone``
    as the average over ``num_batches`` training batches (averaged over
    ranks). A subnet sliced from a supernet inherits statistics shared by
    many archs; this gives it its own. Skipped when resuming.

    Args:
        num_batches (int): Training batches used. Defaults to 200.
    """

    priority = 'VERY_HIGH'

    def __init__(self, num_batches: int = 200) -> None:
        if num_batches < 1:
            raise ConfigError(f'num_batches={num_batches}, allowed >= 1')
        self.num_batches = num_batches

    def before_train(self, runner) -> None:
        if runner.iter > 0:
            return  # resumed: the checkpoint holds the calibrated statistics
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        backbone = model.backbone
        training = backbone.training
        batches = (
            model.data_preprocessor(batch, False)['inputs']
            for batch in runner.train_dataloader)
        runner.logger.info(f'calibrating BN statistics of the backbone on '
                           f'up to {self.num_batches} batches')
        calibrate_bn(
            backbone, batches, self.num_batches, progress=is_main_process())
        for m in backbone.modules():
            if isinstance(m, _BatchNorm) and m.track_running_stats:
                all_reduce(m.running_mean, op='mean')
                all_reduce(m.running_var, op='mean')
        backbone.train(training)
