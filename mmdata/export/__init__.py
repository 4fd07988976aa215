from mmdata.models.backbones import (build_subnet, export_subnet_state_dict,
                                     slice_state_dict)
from mmdata.models.supernet_checkpoint import SOURCES, load_supernet_backbone
from .subnet import (arch_from_search, check_search_checkpoint, export_subnet,
                     read_arch)
from .tasks import TASKS, render_config

__all__ = [
    'SOURCES', 'TASKS', 'arch_from_search', 'build_subnet',
    'check_search_checkpoint', 'read_arch', 'export_subnet',
    'export_subnet_state_dict', 'load_supernet_backbone', 'render_config',
    'slice_state_dict'
]
