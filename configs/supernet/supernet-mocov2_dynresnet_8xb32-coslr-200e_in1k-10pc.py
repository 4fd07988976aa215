# ImageNet-10% (paper §5, Table 7/8): MoCo v2's own defaults, i.e. 8 GPUs x
# 32 images, SGD lr 0.03, weight decay 1e-4, 200 epochs, cosine.
# The subset list is data/imagenet/meta/train_10pc.txt (one
# `relative/path.JPEG label` per line, mmpretrain's ImageNet ann_file format).
_base_ = [
    '../_base_/models/supernet-mocov2_dynresnet.py',
    'mmpretrain::_base_/datasets/imagenet_bs32_mocov2.py',
    '../_base_/schedules/sgd_coslr_200e_lr0.12.py',
    '../_base_/default_runtime.py',
]

train_dataloader = dict(
    collate_fn=dict(_delete_=True, type='default_collate'),  # see base
    dataset=dict(split='train', ann_file='meta/train_10pc.txt'))

optim_wrapper = dict(optimizer=dict(lr=0.03, weight_decay=1e-4))
auto_scale_lr = dict(base_batch_size=256)
