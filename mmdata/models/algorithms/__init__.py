from .base import SupernetSelfSupervisor
from .omega import OMEGA_PRESETS
from .supernet_byol import SupernetBYOL
from .supernet_ddp import SupernetDDP
from .supernet_densecl import SupernetDenseCL
from .supernet_moco import SupernetMoCo
from .supernet_ressl import SupernetReSSL

__all__ = [
    'OMEGA_PRESETS', 'SupernetSelfSupervisor', 'SupernetBYOL', 'SupernetDDP',
    'SupernetDenseCL', 'SupernetMoCo', 'SupernetReSSL'
]
