"""mmdata registries: children of MMEngine's root registries, scope ``mmdata``.

``mmdata.X`` types resolve from mmdet / mmseg / mmpretrain configs that add
``custom_imports=dict(imports=['mmdata'])``; components of sibling projects
resolve from mmdata configs with their scope prefix, e.g.
``type='mmpretrain.MoCoV2Neck'``.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import \
    RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import \
    WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS',
    'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'PARAM_SCHEDULERS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS',
    'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'TASK_UTILS', 'METRICS',
    'EVALUATOR', 'VISUALIZERS', 'VISBACKENDS', 'FUNCTIONS'
]

# Importing the location registers every mmdata component of that kind.
_ALL = ['mmdata']

RUNNERS = Registry('runner', parent=MMENGINE_RUNNERS, locations=_ALL)
RUNNER_CONSTRUCTORS = Registry(
    'runner constructor', parent=MMENGINE_RUNNER_CONSTRUCTORS, locations=_ALL)
LOOPS = Registry(
    'loop', parent=MMENGINE_LOOPS, locations=['mmdata.engine.loops'])
HOOKS = Registry(
    'hook', parent=MMENGINE_HOOKS, locations=['mmdata.engine.hooks'])
LOG_PROCESSORS = Registry(
    'log processor', parent=MMENGINE_LOG_PROCESSORS, locations=_ALL)
OPTIMIZERS = Registry('optimizer', parent=MMENGINE_OPTIMIZERS, locations=_ALL)
OPTIM_WRAPPERS = Registry(
    'optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS, locations=_ALL)
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=_ALL)
PARAM_SCHEDULERS = Registry(
    'parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS, locations=_ALL)
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, locations=_ALL)
DATA_SAMPLERS = Registry(
    'data sampler', parent=MMENGINE_DATA_SAMPLERS, locations=_ALL)
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, locations=_ALL)
MODELS = Registry('model', parent=MMENGINE_MODELS, locations=['mmdata.models'])
MODEL_WRAPPERS = Registry(
    'model_wrapper', parent=MMENGINE_MODEL_WRAPPERS, locations=_ALL)
WEIGHT_INITIALIZERS = Registry(
    'weight initializer', parent=MMENGINE_WEIGHT_INITIALIZERS, locations=_ALL)
TASK_UTILS = Registry('task util', parent=MMENGINE_TASK_UTILS, locations=_ALL)
METRICS = Registry('metric', parent=MMENGINE_METRICS, locations=_ALL)
EVALUATOR = Registry('evaluator', parent=MMENGINE_EVALUATOR, locations=_ALL)
VISUALIZERS = Registry(
    'visualizer', parent=MMENGINE_VISUALIZERS, locations=_ALL)
VISBACKENDS = Registry(
    'vis_backend', parent=MMENGINE_VISBACKENDS, locations=_ALL)
FUNCTIONS = Registry('function', parent=MMENGINE_FUNCTIONS, locations=_ALL)
