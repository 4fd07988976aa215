# MoCo v2 two-view pipeline on ImageNet (mmpretrain layout:
# data/imagenet/{train,val,meta}), 64 images per GPU.
_base_ = 'mmpretrain::_base_/datasets/imagenet_bs32_mocov2.py'

train_dataloader = dict(batch_size=64, num_workers=8)
