from mmdata.errors import (CheckpointError, ConfigError, DataError, UserError,
                           WorkDirError, run_cli)
from .checkpoint import (allow_checkpoint_globals, check_checkpoint_file,
                         checkpoint_safe_globals, load_local_checkpoint,
                         register_local_checkpoint_loader)
from .dist import prepare_cpu_distributed
from .files import atomic_write, file_sha256, undo_on_user_error
from .misc import (check_data, follow_train_length, load_config, parse_shard,
                   run_runner)

__all__ = [
    'allow_checkpoint_globals', 'check_checkpoint_file',
    'checkpoint_safe_globals', 'load_local_checkpoint',
    'register_local_checkpoint_loader', 'check_data', 'load_config',
    'run_runner', 'parse_shard', 'follow_train_length',
    'prepare_cpu_distributed', 'UserError', 'ConfigError', 'CheckpointError',
    'DataError', 'WorkDirError', 'run_cli', 'atomic_write', 'file_sha256',
    'undo_on_user_error'
]
