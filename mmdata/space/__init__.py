"""Search space, architectures and cost model (plain Python, no torch)."""
from .arch import Arch
from .cost import Cost, arch_cost, head_cost, stage_cost, stem_cost
from .latency import BlockShape, LatencyTable, arch_blocks, space_blocks
from .space import ResNetSpace

__all__ = [
    'Arch', 'BlockShape', 'Cost', 'LatencyTable', 'ResNetSpace', 'arch_blocks',
    'arch_cost', 'head_cost', 'space_blocks', 'stage_cost', 'stem_cost'
]
