"""mmdata: DATA (domain-aware and task-aware self-supervised learning) for
OpenMMLab 2.0."""
import warnings

from .utils import register_local_checkpoint_loader
from .version import __version__

register_local_checkpoint_loader()
# mmpretrain's MNIST reader hands torch a read-only array; harmless, and
# printed on every data load
warnings.filterwarnings(
    'ignore',
    message='The given NumPy array is not writable',
    module='mmpretrain.datasets.mnist')

from . import engine, models  # noqa: E402,F401
from .export import export_subnet_state_dict  # noqa: E402

__all__ = ['__version__', 'export_subnet_state_dict']
