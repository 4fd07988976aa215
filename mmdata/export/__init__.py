from .checkpoint import SOURCES, load_supernet_backbone
from .state_dict import export_subnet_state_dict, slice_state_dict

__all__ = [
    'SOURCES', 'export_subnet_state_dict', 'load_supernet_backbone',
    'slice_state_dict'
]
