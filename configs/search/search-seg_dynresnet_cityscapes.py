# Paper §3.3 search for segmentation (Cityscapes FCN, Table 6): tap C4-C5 of
# the dilated layout the FCN uses (strides (1, 2, 1, 1), dilations
# (1, 1, 2, 4)), on Cityscapes val images (labels unused), resized to a
# fixed 256 x 512. FLOPs bins as the paper: 1-8 G counted at 224 px on the
# standard layout.
#   python tools/search.py configs/search/search-seg_dynresnet_cityscapes.py SUPERNET.pth
_base_ = './search-cls_dynresnet_in1k.py'

model = dict(
    backbone=dict(strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4)))

search_pipeline = [
    dict(type='mmseg.LoadImageFromFile'),
    dict(type='mmseg.Resize', scale=(512, 256), keep_ratio=False),
    dict(type='mmseg.PackSegInputs'),
]
train_dataloader = dict(
    _delete_=True,
    batch_size=8,
    num_workers=8,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type='mmseg.CityscapesDataset',
        data_root='data/cityscapes/',
        data_prefix=dict(
            img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
        pipeline=search_pipeline))

train_cfg = dict(tap='seg', calib_batches=20, score_batches=8)
