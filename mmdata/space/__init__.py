"""Search space, architectures and cost model (plain Python, no torch)."""
from .arch import Arch
from .cost import Cost, arch_cost, head_cost, stage_cost, stem_cost
from .space import ResNetSpace

__all__ = [
    'Arch', 'Cost', 'ResNetSpace', 'arch_cost', 'head_cost', 'stage_cost',
    'stem_cost'
]
