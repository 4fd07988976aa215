# Paper §3.3 search for segmentation (Cityscapes FCN, Table 6): tap C4-C5 of
# the dilated layout the FCN uses (strides (1, 2, 1, 1), dilations
# (1, 1, 2, 4)), on Cityscapes train images (labels unused), as the FCN
# trains: full resolution (2048 x 1024), the central 1024 x 512 crop (the
# training crop's size). C4/C5 (128 x 64 positions) are pooled to at most
# 56 x 56 for their relations. FLOPs bins as the paper: 1-8 G counted at
# 224 px on the standard layout.
#   python tools/search.py \
#     configs/search/search-seg_dynresnet_cityscapes.py SUPERNET.pth
_base_ = './search-cls_dynresnet_in1k.py'

model = dict(backbone=dict(strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4)))

search_pipeline = [
    dict(type='mmseg.LoadImageFromFile'),
    dict(type='mmseg.Resize', scale=(2048, 1024), keep_ratio=True),
    dict(type='CenterCrop', crop_size=(1024, 512)),  # mmcv's, (w, h)
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
            img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
        pipeline=search_pipeline))

# 20 x 8 images calibrate BN, 128 x 8 = 1024 of the 2975 are scored on (as
# every paper-scale config, see search-det-fpn_dynresnet_coco.py)
train_cfg = dict(tap='seg', calib_batches=20, score_batches=128)
