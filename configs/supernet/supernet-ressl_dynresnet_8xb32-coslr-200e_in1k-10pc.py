# DATA + ReSSL on ImageNet-10% (paper Table 7) with ReSSL's defaults:
# strong (MoCo v2) view for the students, weak (crop + flip) view for the
# teacher, tau_s 0.1, tau_t 0.04, SGD lr 0.05 per 256 images, wd 1e-4,
# EMA 0.999, 200 epochs, cosine.
_base_ = [
    '../_base_/models/supernet-ressl_dynresnet.py',
    '../_base_/datasets/imagenet-10pc_bs32_mocov2.py',
    '../_base_/schedules/sgd_coslr_200e_lr0.12.py',
    '../_base_/default_runtime.py',
]

weak_view = [
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
]
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'),
        dict(
            type='MultiView',
            num_views=[1, 1],
            transforms=[{{_base_.view_pipeline}}, weak_view]),
        dict(type='PackInputs')
    ]))

optim_wrapper = dict(optimizer=dict(lr=0.05, weight_decay=1e-4))
auto_scale_lr = dict(base_batch_size=256)
