from .base import OMEGA_PRESETS, SupernetSelfSupervisor
from .supernet_moco import SupernetMoCo

__all__ = ['OMEGA_PRESETS', 'SupernetSelfSupervisor', 'SupernetMoCo']
