# DATA + BYOL on ImageNet-10% (paper Table 7) with BYOL's own defaults
# (mmpretrain's BYOL recipe): 16 x 256 images, LARS lr 4.8, wd 1e-6,
# asymmetric BYOL views, 10 warm-up + 190 cosine epochs; teacher momentum
# 0.99 -> 1 (cosine).
_base_ = [
    '../_base_/models/supernet-byol_dynresnet.py',
    'mmpretrain::_base_/datasets/imagenet_bs32_byol.py',
    '../_base_/default_runtime.py',
]

train_dataloader = dict(
    batch_size=256,
    collate_fn=dict(_delete_=True, type='default_collate'),  # see datasets
    dataset=dict(split='train', ann_file='meta/train_10pc.txt'))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='LARS', lr=4.8, momentum=0.9, weight_decay=1e-6),
    paramwise_cfg=dict(
        custom_keys={
            'bn': dict(decay_mult=0, lars_exclude=True),
            'bias': dict(decay_mult=0, lars_exclude=True),
            'downsample.1': dict(decay_mult=0, lars_exclude=True),
            # the projector's BatchNorm1d (DynamicMoCoV2Neck's mlp.1)
            'neck.mlp.1': dict(decay_mult=0, lars_exclude=True),
        }))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=10,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR', T_max=190, by_epoch=True, begin=10, end=200)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=200)
auto_scale_lr = dict(base_batch_size=4096)
