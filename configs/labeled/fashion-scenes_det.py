# The Fashion-MNIST scenes (96 px, tools/misc/prepare_fashion_scenes.py) as
# labeled data for detection (label_metric.py --metric det-map
# --labeled-data THIS, tools/select_subnet.py): COCO boxes of the 4,000 train
# scenes, the val and the test scenes. A labeled-data config names datasets
# in the libraries' own form; the protocol adds its pipeline
# (mmdata/evaluation/labeled_data.py).
data_root = 'data/fashion-scenes/'
classes = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal',
           'Shirt', 'Sneaker', 'Bag', 'Ankle boot')
labeled_train = dict(
    type='CocoDataset',
    data_root=data_root,
    metainfo=dict(classes=classes),
    ann_file='annotations/instances_train.json',
    data_prefix=dict(img='train/images/'))
labeled_val = dict(
    type='CocoDataset',
    data_root=data_root,
    metainfo=dict(classes=classes),
    ann_file='annotations/instances_val.json',
    data_prefix=dict(img='val/images/'))
labeled_test = dict(
    type='CocoDataset',
    data_root=data_root,
    metainfo=dict(classes=classes),
    ann_file='annotations/instances_test.json',
    data_prefix=dict(img='test/images/'))
