# DATA supernet (MoCo v2, the tiny space) on the Fashion-MNIST scenes:
# 96 px gray canvases with several items
# (tools/misc/prepare_fashion_scenes.py),
# where C5 is 3x3 and C2 24x24, so the spatial relations and the task-aware
# taps can be measured (docs/studies/scenes.md, "Scenes").
#   python tools/misc/prepare_fashion_scenes.py data/fashion-scenes
#   python tools/train.py \
#     configs/small/supernet-mocov2_dynresnet-tiny_1xb64-1500it_fashion-scenes.py
# The model, optimizer and teacher EMA are the tiny config's; the probe
# loaders (single items at 32 px) stay for the classification metrics.
_base_ = '../tiny/supernet-mocov2_dynresnet-tiny_1xb128-1e_fashion-mnist.py'

data_root = 'data/fashion-scenes'

# MoCo v2's views for gray content: crop, brightness/contrast jitter (no
# saturation or hue: there is no colour), blur, flip
view_pipeline = [
    dict(
        type='RandomResizedCrop',
        scale=96,
        crop_ratio_range=(0.2, 1.),
        backend='pillow'),
    dict(
        type='RandomApply',
        transforms=[dict(type='ColorJitter', brightness=0.4, contrast=0.4)],
        prob=0.8),
    dict(
        type='GaussianBlur',
        magnitude_range=(0.1, 2.0),
        magnitude_std='inf',
        prob=0.5),
    dict(type='RandomFlip', prob=0.5),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackInputs')
]
train_dataloader = dict(
    batch_size=64,
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        data_prefix='train/images',
        with_label=False,
        pipeline=train_pipeline))

# 1500 iterations of 64 scenes = 24 epochs of the 4,000 train scenes
max_iters = 1500
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
auto_scale_lr = dict(base_batch_size=64)
default_hooks = dict(checkpoint=dict(interval=250))
