"""Fine-tuning configs for exported subnets, one per downstream protocol of
the paper (§4.3).

The protocols are shipped as config files under
``configs/downstream/{mmdet,mmseg,mmpretrain}/``, each inheriting the target
library's own config. An export copies the task's shipped config (and the
relative bases it names) into ``OUT/_base_/`` and writes a short config that
inherits the copy and sets only what depends on the subnet: its arch, its
channel counts (and a classifier's lr) and its weights, referenced as
``{{ fileDirname }}/backbone.pth``. mmengine replaces ``{{ fileDirname }}``
by the config's folder, so the exported folder can be moved as a whole (a
``mmdata::`` base would not load: mmengine resolves ``pkg::`` only for the
OpenMMLab packages it lists, and before ``custom_imports`` run).
"""
import ast
import os
import os.path as osp
import shutil
from typing import Callable, Dict, List

from mmengine.config import Config

from mmdata.space import Arch

HEADER = '''# Fine-tune the DATA subnet {arch}
# ({flops:.2f} GFLOPs, {params:.2f} M params at 224 px) exported by mmdata.
# Protocol: {protocol}
#   {command}
# The protocol's settings: _base_/{name},
# a copy of mmdata's configs/{base}
'''


def _pretrained(name: str = 'backbone.pth') -> dict:
    # replaces the shipped ``init_cfg=None``
    return dict(
        _delete_=True,
        type='Pretrained',
        checkpoint=f'{{{{ fileDirname }}}}/{name}')


def _backbone(arch: Arch) -> dict:
    return dict(arch=str(arch), init_cfg=_pretrained())


def fpn_detector(arch: Arch) -> dict:
    return dict(
        model=dict(
            backbone=_backbone(arch),
            neck=dict(in_channels=list(arch.out_channels))))


def voc_fasterrcnn_c4(arch: Arch) -> dict:
    c4, c5 = arch.out_channels[2], arch.out_channels[3]
    return dict(
        model=dict(
            backbone=_backbone(arch),
            rpn_head=dict(in_channels=c4, feat_channels=c4),
            roi_head=dict(
                shared_head=dict(
                    arch=str(arch), init_cfg=_pretrained('res_layer.pth')),
                bbox_roi_extractor=dict(out_channels=c4),
                bbox_head=dict(in_channels=c5))))


def fcn_segmentor(arch: Arch) -> dict:
    return dict(
        model=dict(
            backbone=_backbone(arch),
            decode_head=dict(in_channels=arch.out_channels[3]),
            auxiliary_head=dict(in_channels=arch.out_channels[2])))


# Classifier protocols train the linear head on BN-normalised pooled features
# (MAE's ClsBatchNormNeck, no affine): the head's effective step is then
# lr * dim / batch whatever the subnet's feature scale, which differs between
# subnets and from the ResNet-50 that MoCo's lr 30 was tuned for (at lr 30
# our calibrated features, L2 norm ~32, diverged). HEAD_STEP = lr * dim /
# batch was measured stable on Fashion-MNIST (docs/user_guides/export.md).
HEAD_STEP = 0.125
BATCH = 256  # 8 GPUs x 32 images


def head_lr(feature_dim: int, batch: int = BATCH) -> float:
    """SGD learning rate of a linear head on ``feature_dim`` normalised
    features at ``batch`` images per step."""
    return HEAD_STEP * batch / feature_dim


def _classifier(arch: Arch) -> dict:
    dim = arch.out_channels[3]
    return dict(
        backbone=_backbone(arch),
        neck=[
            dict(type='GlobalAveragePooling'),
            dict(type='ClsBatchNormNeck', input_features=dim),
        ],
        head=dict(in_channels=dim))


def in1k_linear(arch: Arch) -> dict:
    lr = head_lr(arch.out_channels[3])
    return dict(
        model=_classifier(arch), optim_wrapper=dict(optimizer=dict(lr=lr)))


SEMI_BACKBONE_LR = 0.01  # the shipped semi-supervised configs' lr


def in1k_semi(arch: Arch) -> dict:
    lr_mult = head_lr(arch.out_channels[3]) / SEMI_BACKBONE_LR
    return dict(
        model=_classifier(arch),
        optim_wrapper=dict(
            paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=lr_mult)})))


def _task(config: str,
          library: str,
          overrides: Callable,
          protocol: str,
          num_stages: int = 4) -> dict:
    return dict(
        config=config,
        library=library,
        overrides=overrides,
        protocol=protocol,
        num_stages=num_stages,
        base=f'downstream/{library}/{config}')


# task -> config name (shipped and exported), library, the exported
# config's overrides, protocol, stages exported in backbone.pth (the C4
# detector runs stage 4 as its ROI head), shipped config (under configs/)
TASKS: Dict[str, dict] = {
    'coco-maskrcnn-fpn':
    _task('mask-rcnn_subnet_fpn_syncbn_1x_coco.py', 'mmdet', fpn_detector,
          'Mask R-CNN FPN 1x on COCO, SyncBN (MoCo detection)'),
    'voc-fasterrcnn-c4':
    _task(
        'faster-rcnn_subnet-c4_syncbn_24k_voc0712.py',
        'mmdet',
        voc_fasterrcnn_c4, 'Faster R-CNN C4 on VOC07+12 trainval, 24k '
        'iterations, VOC2007 test',
        num_stages=3),
    'cityscapes-fcn':
    _task('fcn_subnet-d8_8xb2-40k_cityscapes-512x1024.py', 'mmseg',
          fcn_segmentor, 'FCN on Cityscapes, 40k iterations, batch 16, '
          'dilated stages 3-4'),
    'scenes-fasterrcnn-fpn':
    _task(
        'faster-rcnn_subnet_fpn_1xb8-1200it_fashion-scenes.py', 'mmdet',
        fpn_detector, 'Faster R-CNN FPN on the 96 px Fashion-MNIST scenes, '
        '1200 iterations, val bbox mAP (the scenes ranking study)'),
    'scenes-fcn':
    _task(
        'fcn_subnet-d8_1xb8-1200it_fashion-scenes.py', 'mmseg', fcn_segmentor,
        'FCN on the 96 px Fashion-MNIST scenes, 1200 '
        'iterations, val mIoU (the scenes ranking study)'),
    'in1k-linear':
    _task(
        'subnet_8xb32-linear-steplr-100e_in1k.py', 'mmpretrain', in1k_linear,
        'ImageNet linear classification on frozen, BN-calibrated features, '
        '100 epochs'),
    'in1k-semi-1pc':
    _task('subnet_8xb32-semi-20e_in1k-1pc.py', 'mmpretrain', in1k_semi,
          'ImageNet 1% semi-supervised fine-tuning, 20 epochs'),
    'in1k-semi-10pc':
    _task('subnet_8xb32-semi-20e_in1k-10pc.py', 'mmpretrain', in1k_semi,
          'ImageNet 10% semi-supervised fine-tuning, 20 epochs'),
}


def shipped_configs() -> str:
    """The folder of mmdata's configs: ``mmdata/.mim/configs`` when
    installed, else the checkout's ``configs/``."""
    package = osp.dirname(osp.dirname(osp.abspath(__file__)))
    installed = osp.join(package, '.mim', 'configs')
    return installed if osp.isdir(installed) else osp.join(
        osp.dirname(package), 'configs')


def _relative_bases(path: str) -> List[str]:
    """The ``_base_`` files of a config that are relative paths."""
    for node in ast.parse(open(path).read()).body:
        if isinstance(node, ast.Assign) and any(
                getattr(t, 'id', None) == '_base_' for t in node.targets):
            bases = ast.literal_eval(node.value)
            bases = [bases] if isinstance(bases, str) else bases
            return [b for b in bases if '::' not in b]
    return []


def copy_protocol(task: str, out_dir: str) -> str:
    """Copy ``task``'s shipped config and its relative bases into
    ``out_dir/_base_/``; returns the copy's path relative to ``out_dir``."""
    base = TASKS[task]['base']
    todo = [osp.join(shipped_configs(), base)]
    while todo:
        src = todo.pop()
        dst = osp.join(
            out_dir, '_base_',
            osp.relpath(src, osp.join(shipped_configs(), osp.dirname(base))))
        os.makedirs(osp.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)
        todo += [
            osp.normpath(osp.join(osp.dirname(src), b))
            for b in _relative_bases(src)
        ]
    return f'_base_/{osp.basename(base)}'


def render_config(task: str, arch: Arch, flops: float, params: float,
                  config_name: str) -> str:
    """The exported config text of ``task`` for ``arch``: it inherits the
    copy of the shipped config (:func:`copy_protocol`) and sets the
    subnet's values."""
    if task not in TASKS:
        raise ValueError(f'unknown task {task!r}: choose one of '
                         f'{sorted(TASKS)}')
    spec = TASKS[task]
    command = (f'mim train {spec["library"]} {config_name} '
               '--launcher pytorch --gpus 8')
    name = osp.basename(spec['base'])
    header = HEADER.format(
        arch=arch,
        flops=flops / 1e9,
        params=params / 1e6,
        protocol=spec['protocol'],
        command=command,
        base=spec['base'],
        name=name)
    return (f"{header}_base_ = './_base_/{name}'\n\n" +
            Config(spec['overrides'](arch)).pretty_text)
