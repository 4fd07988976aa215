# Paper §3.3 search for Faster R-CNN C4 (VOC, Table 5): tap C5 on VOC2007
# test images (annotations unused), resized to a fixed 224 x 224; FLOPs bins
# 1-8 G at 224 px.
#   python tools/search.py configs/search/search-det-c4_dynresnet_voc.py SUPERNET.pth
_base_ = './search-det-fpn_dynresnet_coco.py'

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='mmdet.VOCDataset',
        data_root='data/VOCdevkit/',
        ann_file='VOC2007/ImageSets/Main/test.txt',
        data_prefix=dict(sub_data_root='VOC2007/'),
        test_mode=True,
        pipeline={{_base_.search_pipeline}}))

train_cfg = dict(tap='det_c4')
