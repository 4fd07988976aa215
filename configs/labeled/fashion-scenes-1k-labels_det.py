# A labeled subset of the Fashion-MNIST scenes, as a user with few labels
# has: 1,000 of the 4,000 train scenes, 800 to train on and 200 held out
# to validate on. The selection study (docs/selection.md) runs its short
# label runs here; it never reads the val and test scenes that its ground
# truths are measured on.
_base_ = './fashion-scenes_det.py'

labeled_train = dict(indices=800)  # train scenes 0-799
labeled_val = dict(  # train scenes 3800-3999
    ann_file='annotations/instances_train.json',
    data_prefix=dict(img='train/images/'),
    indices=list(range(3800, 4000)))
