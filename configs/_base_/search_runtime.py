# Runtime of a search config. A search config describes the search only:
# the target images (train_dataloader, labels unused), the task's tap, the
# budgets and the similarity (train_cfg, mmdata.SearchLoop). The supernet
# comes from the checkpoint: tools/search.py builds the model its training
# config recorded (any method: MoCo v2, BYOL, ReSSL, DenseCL), or the model
# of --train-config for a checkpoint that records none.
_base_ = './default_runtime.py'

# the Runner wants an optimizer beside a train loop; the search trains
# nothing and never steps it
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.))
default_hooks = dict(checkpoint=None)
log_processor = dict(by_epoch=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
