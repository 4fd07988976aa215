# Tiny DATA supernet on 32 px Fashion-MNIST for CPUs: tests and the demo.
# Widths are Table 1 / 8; BN in the projection head, lr 0.03 and EMA 0.996
# keep this small run from collapsing (see docs).
#   python tools/train.py \
#     configs/tiny/supernet-mocov2_dynresnet-tiny_1xb128-1e_fashion-mnist.py
_base_ = [
    '../_base_/models/supernet-mocov2_dynresnet.py',
    '../_base_/default_runtime.py',
]

data_root = 'data/fashion-mnist'

model = dict(
    queue_len=4096,
    backbone=dict(
        space=dict(
            stem=(8, 16, 8),
            widths=[(8, 16, 4), (16, 32, 8), (32, 64, 16), (64, 128, 32)],
            depths=[(1, 2, 1), (1, 2, 1), (1, 4, 1), (1, 2, 1)]),
        norm_cfg=dict(type='BN')),
    neck=dict(
        in_channels=512, hid_channels=256, out_channels=128, with_bn=True),
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[72.9, 72.9, 72.9],
        std=[90.0, 90.0, 90.0],
        to_rgb=False))

custom_hooks = [dict(type='mmdata.TeacherEMA', momentum=0.996)]

view_pipeline = [
    dict(
        type='RandomResizedCrop',
        scale=32,
        crop_ratio_range=(0.2, 1.),
        backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
]
train_pipeline = [
    # gray 28x28 arrays -> 3-channel images, as the downstream RGB data
    dict(type='NumpyToPIL'),
    dict(type='torchvision/Grayscale', num_output_channels=3),
    dict(type='PILToNumpy'),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackInputs')
]
train_dataloader = dict(
    batch_size=128,
    num_workers=2,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='FashionMNIST',
        data_root=data_root,
        split='train',
        download=False,
        pipeline=train_pipeline))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.03, weight_decay=1e-4, momentum=0.9))
# one epoch (60000 // 128 batches), iteration-based so that a resumed run
# skips exactly the batches already seen; ~0.4 s per iteration on 2 cores
max_iters = 468
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
auto_scale_lr = dict(base_batch_size=128)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=100, by_epoch=False))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
env_cfg = dict(dist_cfg=dict(backend='gloo'))

# labeled splits for knn_eval.py and label_metric.py (not used in training)
eval_pipeline = [
    dict(type='NumpyToPIL'),
    dict(type='torchvision/Grayscale', num_output_channels=3),
    dict(type='PILToNumpy'),
    dict(type='Resize', scale=32, backend='pillow'),
    dict(type='PackInputs')
]
probe_train_dataloader = dict(
    batch_size=256,
    num_workers=2,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='FashionMNIST',
        data_root=data_root,
        split='train',
        download=False,
        pipeline=eval_pipeline))
probe_test_dataloader = dict(
    batch_size=256,
    num_workers=2,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='FashionMNIST',
        data_root=data_root,
        split='test',
        test_mode=True,
        download=False,
        pipeline=eval_pipeline))
