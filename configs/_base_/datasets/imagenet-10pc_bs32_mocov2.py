# MoCo v2 two-view pipeline on the ImageNet-10% subset:
# data/imagenet/meta/train_10pc.txt lists `relative/path.JPEG label` lines
# (mmpretrain's ImageNet ann_file format) under data/imagenet/train/.
_base_ = 'mmpretrain::_base_/datasets/imagenet_bs32_mocov2.py'

# collate_fn restated: mmengine passes the `_scope_` key that cross-repo
# bases add to dicts on to the collate function, which rejects it
train_dataloader = dict(
    collate_fn=dict(_delete_=True, type='default_collate'),
    dataset=dict(split='train', ann_file='meta/train_10pc.txt'))
