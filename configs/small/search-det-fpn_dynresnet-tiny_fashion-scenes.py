# The scenes search of search-cls_dynresnet-tiny_fashion-scenes.py (same
# images, bins and candidates) on the det_fpn tap: C2-C5.
#   python tools/search.py \
#     configs/small/search-det-fpn_dynresnet-tiny_fashion-scenes.py \
#     work_dirs/scenes/train/iter_1500.pth
_base_ = './search-cls_dynresnet-tiny_fashion-scenes.py'

train_cfg = dict(tap='det_fpn')
