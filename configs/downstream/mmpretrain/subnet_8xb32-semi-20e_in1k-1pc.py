# ImageNet 1% semi-supervised fine-tuning of a DATA subnet, 20 epochs
# (paper §4.3).
# tools/export_subnet.py --task in1k-semi-1pc writes a config that inherits
# this one and sets the subnet's arch, feature dim, head lr and weights.
# On its own, this fine-tunes a randomly initialised ResNet-50-shaped subnet.
_base_ = [
    'mmpretrain::_base_/models/resnet50.py',
    'mmpretrain::_base_/datasets/imagenet_bs32_pil_resize.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmdata'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmdata.SubnetResNet',
        arch='Depth [3,4,6,3] Width [64,64,128,256,512]',
        out_indices=(3, ),
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=None),
    # BN-normalised pooled features, as in the linear protocol
    neck=[
        dict(type='GlobalAveragePooling'),
        dict(type='ClsBatchNormNeck', input_features=2048),
    ],
    head=dict(in_channels=2048))

# the 1% labelled subset: data/imagenet/meta/train_1pc.txt
train_dataloader = dict(dataset=dict(ann_file='meta/train_1pc.txt'))

# 20 epochs; lr 0.01 for the backbone; the classifier's lr is
# 0.125 x batch 256 / feature dim (mmdata.export.head_lr; 0.015625 for 2048)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.),
    paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=1.5625)}))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[12, 16], gamma=0.2)
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=1)
