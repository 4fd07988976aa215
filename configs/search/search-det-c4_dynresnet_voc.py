# Paper §3.3 search for Faster R-CNN C4 (VOC, Table 5): tap C5 on the
# VOC07+12 trainval images the detector is trained on (annotations unused),
# aspect ratio kept (fit 864 x 512, padded) as in the COCO search; FLOPs bins
# 1-8 G at 224 px.
#   python tools/search.py \
#     configs/search/search-det-c4_dynresnet_voc.py SUPERNET.pth
_base_ = './search-det-fpn_dynresnet_coco.py'

voc_root = 'data/VOCdevkit/'
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='mmdet.ConcatDataset',
        datasets=[
            dict(
                type='mmdet.VOCDataset',
                data_root=voc_root,
                ann_file=f'VOC{year}/ImageSets/Main/trainval.txt',
                data_prefix=dict(sub_data_root=f'VOC{year}/'),
                test_mode=True,
                pipeline={{_base_.search_pipeline}})
            for year in ('2007', '2012')
        ]))

train_cfg = dict(tap='det_c4')
