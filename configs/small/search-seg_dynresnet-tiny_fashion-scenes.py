# The scenes search of search-cls_dynresnet-tiny_fashion-scenes.py (same
# images, bins and candidates) on the seg tap: C4-C5.
#   python tools/search.py \
#     configs/small/search-seg_dynresnet-tiny_fashion-scenes.py \
#     work_dirs/scenes/train/iter_1500.pth
_base_ = './search-cls_dynresnet-tiny_fashion-scenes.py'

train_cfg = dict(tap='seg')
