"""Fine-tuning configs for exported subnets, one per downstream protocol of
the paper (§4.3), each inheriting the target library's own config.

Weights are referenced as ``{{ fileDirname }}/backbone.pth``: mmengine
replaces ``{{ fileDirname }}`` by the config's folder, so the exported folder
can be moved as a whole.
"""
from typing import Callable, Dict

from mmdata.space import Arch

HEADER = '''# Fine-tune the DATA subnet {arch}
# ({flops:.2f} GFLOPs, {params:.2f} M params at 224 px) exported by mmdata.
# Protocol: {protocol}
#   {command}
'''
IMPORTS = ("custom_imports = dict(imports=['mmdata'], "
           'allow_failed_imports=False)\n')
IMAGENET_NORM = ('mean=[123.675, 116.28, 103.53], '
                 'std=[58.395, 57.12, 57.375]')


def _pretrained(name: str = 'backbone.pth') -> str:
    return ("dict(type='Pretrained', "
            f"checkpoint='{{{{ fileDirname }}}}/{name}')")


def coco_maskrcnn_fpn(arch: Arch) -> str:
    """Mask R-CNN FPN 1x on COCO with SyncBN in backbone, FPN and heads (the
    MoCo detection protocol)."""
    return f'''_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
{IMPORTS}
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmdata.SubnetResNet',
        arch={str(arch)!r},
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        init_cfg={_pretrained()}),
    neck=dict(in_channels={list(arch.out_channels)}, norm_cfg=norm_cfg),
    roi_head=dict(
        bbox_head=dict(
            _delete_=True,
            type='Shared4Conv1FCBBoxHead',
            in_channels=256,
            fc_out_channels=1024,
            roi_feat_size=7,
            num_classes=80,
            norm_cfg=norm_cfg,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        mask_head=dict(norm_cfg=norm_cfg)))
'''


def voc_fasterrcnn_c4(arch: Arch) -> str:
    """Faster R-CNN C4 on VOC07+12 trainval, 24k iterations, VOC2007 test
    (MoCo's protocol): stages 1-3 as backbone, stage 4 as the shared head."""
    c4, c5 = arch.out_channels[2], arch.out_channels[3]
    return f'''_base_ = 'mmdet::pascal_voc/faster-rcnn_r50-caffe-c4_ms-18k_voc0712.py'
{IMPORTS}
norm_cfg = dict(type='SyncBN', requires_grad=True)
arch = {str(arch)!r}
model = dict(
    data_preprocessor=dict(
        {IMAGENET_NORM}, bgr_to_rgb=True),
    backbone=dict(
        _delete_=True,
        type='mmdata.SubnetResNet',
        arch=arch,
        num_stages=3,
        strides=(1, 2, 2),
        dilations=(1, 1, 1),
        out_indices=(2, ),
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        init_cfg={_pretrained()}),
    rpn_head=dict(in_channels={c4}, feat_channels={c4}),
    roi_head=dict(
        shared_head=dict(
            _delete_=True,
            type='mmdata.SubnetResLayer',
            arch=arch,
            stage=3,
            stride=2,
            norm_cfg=norm_cfg,
            norm_eval=False,
            init_cfg={_pretrained('res_layer.pth')}),
        bbox_roi_extractor=dict(out_channels={c4}),
        bbox_head=dict(in_channels={c5}, num_classes=20)))

# 24k iterations, lr 0.02 (batch 16), steps at 18k and 22k
max_iter = 24000
train_cfg = dict(max_iters=max_iter, val_interval=4000)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=100),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_iter,
        by_epoch=False,
        milestones=[18000, 22000],
        gamma=0.1)
]
auto_scale_lr = dict(enable=False, base_batch_size=16)
'''


def cityscapes_fcn(arch: Arch) -> str:
    """FCN on Cityscapes, 40k iterations, batch 16 (8 GPUs x 2), stages 3-4
    dilated."""
    return f'''_base_ = 'mmseg::fcn/fcn_r50-d8_4xb2-40k_cityscapes-512x1024.py'
{IMPORTS}
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='mmdata.SubnetResNet',
        arch={str(arch)!r},
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        out_indices=(0, 1, 2, 3),
        norm_cfg=norm_cfg,
        norm_eval=False,
        init_cfg={_pretrained()}),
    decode_head=dict(in_channels={arch.out_channels[3]}),
    auxiliary_head=dict(in_channels={arch.out_channels[2]}))

# batch 16 = 8 GPUs x 2 images, 40k iterations
train_dataloader = dict(batch_size=2)
'''


# Classifier protocols train the linear head on BN-normalised pooled features
# (MAE's ClsBatchNormNeck, no affine): the head's effective step is then
# lr * dim / batch whatever the subnet's feature scale, which differs between
# subnets and from the ResNet-50 that MoCo's lr 30 was tuned for (at lr 30
# our calibrated features, L2 norm ~32, diverged). HEAD_STEP = lr * dim /
# batch was measured stable on Fashion-MNIST (docs/export.md).
HEAD_STEP = 0.125
BATCH = 256  # 8 GPUs x 32 images


def head_lr(feature_dim: int, batch: int = BATCH) -> float:
    """SGD learning rate of a linear head on ``feature_dim`` normalised
    features at ``batch`` images per step."""
    return HEAD_STEP * batch / feature_dim


def _classifier(arch: Arch, frozen: bool) -> str:
    dim = arch.out_channels[3]
    return f'''model = dict(
    backbone=dict(
        _delete_=True,
        type='mmdata.SubnetResNet',
        arch={str(arch)!r},
        out_indices=(3, ),
        frozen_stages={4 if frozen else -1},
        norm_eval={frozen},
        init_cfg={_pretrained()}),
    neck=[
        dict(type='GlobalAveragePooling'),
        dict(type='ClsBatchNormNeck', input_features={dim}),
    ],
    head=dict(in_channels={dim}))
'''


def in1k_linear(arch: Arch) -> str:
    """Linear classification on frozen features after BN calibration on the
    training images, 100 epochs (MoCo v2 linear protocol)."""
    return f'''_base_ = 'mmpretrain::mocov2/benchmarks/resnet50_8xb32-linear-steplr-100e_in1k.py'
{IMPORTS}
{_classifier(arch, frozen=True)}
# recalibrate the subnet's BN statistics on training images, then freeze
custom_hooks = [dict(type='mmdata.BNCalibrationHook', num_batches=200)]

# lr = {HEAD_STEP} x batch {BATCH} / feature dim {arch.out_channels[3]} on normalised
# features (MoCo's lr 30 assumes ResNet-50's feature scale)
optim_wrapper = dict(optimizer=dict(lr={head_lr(arch.out_channels[3]):.6g}))
'''


def _semi(arch: Arch, fraction: str) -> str:
    dim = arch.out_channels[3]
    lr = head_lr(dim)
    return f'''_base_ = [
    'mmpretrain::_base_/models/resnet50.py',
    'mmpretrain::_base_/datasets/imagenet_bs32_pil_resize.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py',
]
{IMPORTS}
{_classifier(arch, frozen=False)}
# the {fraction} labelled subset: data/imagenet/meta/train_{fraction}.txt
train_dataloader = dict(dataset=dict(ann_file='meta/train_{fraction}.txt'))

# 20 epochs; lr 0.01 for the backbone; {lr:.6g} for the classifier
# on normalised features ({HEAD_STEP} x batch {BATCH} / feature dim {dim})
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.),
    paramwise_cfg=dict(
        custom_keys={{'head': dict(lr_mult={lr / 0.01:.6g})}}))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[12, 16], gamma=0.2)
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=1)
'''


def in1k_semi_1pc(arch: Arch) -> str:
    """Semi-supervised fine-tuning on ImageNet 1%, 20 epochs."""
    return _semi(arch, '1pc')


def in1k_semi_10pc(arch: Arch) -> str:
    """Semi-supervised fine-tuning on ImageNet 10%, 20 epochs."""
    return _semi(arch, '10pc')


def _task(config: str, library: str, render: Callable, protocol: str,
          num_stages: int = 4) -> dict:
    return dict(config=config, library=library, render=render,
                protocol=protocol, num_stages=num_stages)


# task -> exported config name, library, renderer, protocol, stages exported
# in backbone.pth (the C4 detector runs stage 4 as its ROI head)
TASKS: Dict[str, dict] = {
    'coco-maskrcnn-fpn': _task(
        'mask-rcnn_subnet_fpn_syncbn_1x_coco.py', 'mmdet', coco_maskrcnn_fpn,
        'Mask R-CNN FPN 1x on COCO, SyncBN (MoCo detection)'),
    'voc-fasterrcnn-c4': _task(
        'faster-rcnn_subnet-c4_syncbn_24k_voc0712.py', 'mmdet',
        voc_fasterrcnn_c4, 'Faster R-CNN C4 on VOC07+12 trainval, 24k '
        'iterations, VOC2007 test', num_stages=3),
    'cityscapes-fcn': _task(
        'fcn_subnet-d8_8xb2-40k_cityscapes-512x1024.py', 'mmseg',
        cityscapes_fcn, 'FCN on Cityscapes, 40k iterations, batch 16, '
        'dilated stages 3-4'),
    'in1k-linear': _task(
        'subnet_8xb32-linear-steplr-100e_in1k.py', 'mmpretrain', in1k_linear,
        'ImageNet linear classification on frozen, BN-calibrated features, '
        '100 epochs'),
    'in1k-semi-1pc': _task(
        'subnet_8xb32-semi-20e_in1k-1pc.py', 'mmpretrain', in1k_semi_1pc,
        'ImageNet 1% semi-supervised fine-tuning, 20 epochs'),
    'in1k-semi-10pc': _task(
        'subnet_8xb32-semi-20e_in1k-10pc.py', 'mmpretrain', in1k_semi_10pc,
        'ImageNet 10% semi-supervised fine-tuning, 20 epochs'),
}


def render_config(task: str, arch: Arch, flops: float, params: float,
                  config_name: str) -> str:
    """The config text of ``task`` for ``arch``."""
    if task not in TASKS:
        raise ValueError(f'unknown task {task!r}: choose one of '
                         f'{sorted(TASKS)}')
    spec = TASKS[task]
    command = (f'mim train {spec["library"]} {config_name} '
               '--launcher pytorch --gpus 8')
    render: Callable = spec['render']
    return HEADER.format(
        arch=arch,
        flops=flops / 1e9,
        params=params / 1e6,
        protocol=spec['protocol'],
        command=command) + render(arch)
