"""What every label-metric measurement changes in a shipped config run by
MMEngine's Runner: no checkpoints, no logging, its own work dir and seed."""
from mmengine.config import Config


def quiet_run(cfg: Config, work_dir: str, seed: int) -> Config:
    """Set ``cfg`` (in place) to train and test once in ``work_dir`` with
    ``seed``, on one process, quietly and without checkpoints."""
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=-1, save_last=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=10**6)
    cfg.update(
        work_dir=work_dir,
        launcher='none',
        log_level='WARNING',
        randomness=dict(seed=seed, deterministic=False),
        env_cfg=dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo')))
    return cfg
