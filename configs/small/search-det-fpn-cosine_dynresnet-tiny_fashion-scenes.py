# The det_fpn scenes search (C2-C5) with the cosine similarity instead of
# the paper's relations (Eq. 4-5): does relating positions matter on maps?
#   python tools/search.py \
#     configs/small/search-det-fpn-cosine_dynresnet-tiny_fashion-scenes.py \
#     work_dirs/scenes/train/iter_1500.pth
_base_ = './search-det-fpn_dynresnet-tiny_fashion-scenes.py'

train_cfg = dict(similarity='cosine')
