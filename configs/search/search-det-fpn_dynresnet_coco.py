# Paper §3.3 search for FPN detectors (COCO Mask R-CNN FPN, Table 3):
# tap C2-C5 on COCO val2017 images (annotations unused), 7 bins of 1 GFLOPs
# from 1 to 8 G (FLOPs counted at 224 px as in the paper), 100 candidates.
# Images are resized to a fixed 224 x 224 so that they batch up.
#   python tools/search.py configs/search/search-det-fpn_dynresnet_coco.py SUPERNET.pth
_base_ = './search-cls_dynresnet_in1k.py'

search_pipeline = [
    dict(type='mmdet.LoadImageFromFile'),
    dict(type='mmdet.Resize', scale=(224, 224), keep_ratio=False),
    dict(
        type='mmdet.PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape')),
]
train_dataloader = dict(
    _delete_=True,
    batch_size=32,
    num_workers=8,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type='mmdet.CocoDataset',
        data_root='data/coco/',
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=search_pipeline))

train_cfg = dict(tap='det_fpn')
