# Runtime shared by mmdata configs: mmpretrain's runtime, mmpretrain as the
# default scope (its datasets and transforms resolve unprefixed), mmdata's
# components as `mmdata.X`.
_base_ = 'mmpretrain::_base_/default_runtime.py'

custom_imports = dict(imports=['mmdata'], allow_failed_imports=False)
default_scope = 'mmpretrain'

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))
