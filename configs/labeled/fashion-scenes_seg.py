# The Fashion-MNIST scenes (96 px, tools/misc/prepare_fashion_scenes.py) as
# labeled data for segmentation (label_metric.py --metric seg-miou
# --labeled-data THIS, tools/select_subnet.py): semantic maps (class + 1,
# 0 = background) of the 4,000 train scenes, the val and the test scenes.
data_root = 'data/fashion-scenes/'
classes = ('background', 'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
           'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot')
scenes = dict(
    type='BaseSegDataset',
    data_root=data_root,
    metainfo=dict(classes=classes),
    img_suffix='.png',
    seg_map_suffix='.png',
    reduce_zero_label=False)
labeled_train = dict(
    data_prefix=dict(img_path='train/images', seg_map_path='train/semantic'),
    **scenes)
labeled_val = dict(
    data_prefix=dict(img_path='val/images', seg_map_path='val/semantic'),
    **scenes)
labeled_test = dict(
    data_prefix=dict(img_path='test/images', seg_map_path='test/semantic'),
    **scenes)
