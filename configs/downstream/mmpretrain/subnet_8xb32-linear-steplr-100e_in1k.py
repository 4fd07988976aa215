# ImageNet linear classification on frozen, BN-calibrated features of a DATA
# subnet, 100 epochs (MoCo v2's linear protocol, paper §4.3).
# tools/export_subnet.py --task in1k-linear writes a config that inherits
# this one and sets the subnet's arch, feature dim, head lr and weights.
# On its own, this probes a randomly initialised ResNet-50-shaped subnet.
_base_ = 'mmpretrain::mocov2/benchmarks/resnet50_8xb32-linear-steplr-100e_in1k.py'  # noqa: E501
custom_imports = dict(imports=['mmdata'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmdata.SubnetResNet',
        arch='Depth [3,4,6,3] Width [64,64,128,256,512]',
        out_indices=(3, ),
        frozen_stages=4,
        norm_eval=True,
        init_cfg=None),
    # the head learns on BN-normalised pooled features (MAE's linear probe
    # neck, no affine): its step no longer depends on the subnet's feature
    # scale, which MoCo's lr 30 (tuned for ResNet-50) assumes
    neck=[
        dict(type='GlobalAveragePooling'),
        dict(type='ClsBatchNormNeck', input_features=2048),
    ],
    head=dict(in_channels=2048))

# recalibrate the subnet's BN statistics on training images, then freeze
custom_hooks = [dict(type='mmdata.BNCalibrationHook', num_batches=200)]

# lr = 0.125 x batch 256 / feature dim (2048 here): mmdata.export.head_lr
optim_wrapper = dict(optimizer=dict(lr=0.015625))
