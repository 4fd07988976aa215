"""mmdata: DATA (domain-aware and task-aware self-supervised learning) for
OpenMMLab 2.0."""
from .utils import register_local_checkpoint_loader
from .version import __version__

register_local_checkpoint_loader()

from . import engine, models  # noqa: E402,F401
from .export import export_subnet_state_dict  # noqa: E402

__all__ = ['__version__', 'export_subnet_state_dict']
