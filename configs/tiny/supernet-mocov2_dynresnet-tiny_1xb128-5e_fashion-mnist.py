# The tiny supernet trained for 5 epochs (2,340 iterations, the cosine
# schedule over them): the model zoo's tiny supernet and the selection
# study's (docs/selection.md, docs/model_zoo.md).
#   python tools/train.py \
#     configs/tiny/supernet-mocov2_dynresnet-tiny_1xb128-5e_fashion-mnist.py
_base_ = './supernet-mocov2_dynresnet-tiny_1xb128-1e_fashion-mnist.py'

max_iters = 2340
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters)
