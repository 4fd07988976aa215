# MoCo v2 two-view pipeline on ImageNet (mmpretrain layout:
# data/imagenet/{train,val,meta}), 64 images per GPU.
_base_ = 'mmpretrain::_base_/datasets/imagenet_bs32_mocov2.py'

# collate_fn is restated: mmengine passes the `_scope_` key that cross-repo
# bases add to every dict on to the collate function, which rejects it
train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    collate_fn=dict(_delete_=True, type='default_collate'))
