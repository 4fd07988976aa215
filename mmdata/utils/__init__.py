from .checkpoint import (allow_checkpoint_globals, checkpoint_safe_globals,
                         load_local_checkpoint,
                         register_local_checkpoint_loader)
from .dist import prepare_cpu_distributed
from .misc import check_data_roots
from .setup_env import register_all_modules

__all__ = [
    'allow_checkpoint_globals', 'checkpoint_safe_globals',
    'load_local_checkpoint', 'register_local_checkpoint_loader',
    'register_all_modules', 'check_data_roots', 'prepare_cpu_distributed'
]
