"""Runner resume under torch >= 2.6 (weights_only) through mmdata's loader."""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader

import mmdata  # noqa: F401  (registers the local checkpoint loader)
from mmdata.errors import CheckpointError
from mmdata.utils import load_local_checkpoint


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 1)

    def forward(self, inputs, labels, mode='tensor'):
        out = self.linear(inputs)  # default_collate stacked the batch
        if mode == 'loss':
            return dict(loss=((out.squeeze(1) - labels)**2).mean())
        return out


class ToyDataset(torch.utils.data.Dataset):
    metainfo = dict(name='toy')

    def __init__(self):
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(12, 4, generator=gen)
        self.y = self.x.sum(1)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return dict(inputs=self.x[i], labels=self.y[i])


class RecordOptimizerState(Hook):

    def __init__(self):
        self.state = None
        self.counters = None

    def before_train(self, runner):
        self.counters = (runner.epoch, runner.iter)
        self.state = copy.deepcopy(runner.optim_wrapper.optimizer.state_dict())


def make_runner(work_dir, max_epochs, resume=False, hooks=()):
    torch.manual_seed(0)  # the model is built before the Runner seeds
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=ToyDataset(),
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='default_collate'),
            batch_size=4),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        custom_hooks=list(hooks),
        randomness=dict(seed=0),
        resume=resume,
        default_scope='mmdata')


def test_resume_restores_counters_and_momentum(tmp_path):
    make_runner(tmp_path / 'run', 2).train()
    saved = load_local_checkpoint(str(tmp_path / 'run' / 'epoch_2.pth'))
    saved_momentum = [
        s['momentum_buffer'] for s in saved['optimizer']['state'].values()
    ]

    record = RecordOptimizerState()
    runner = make_runner(tmp_path / 'run', 3, resume=True, hooks=[record])
    runner.train()
    assert record.counters == (2, 6)
    assert (runner.epoch, runner.iter) == (3, 9)
    resumed = [s['momentum_buffer'] for s in record.state['state'].values()]
    assert len(resumed) == len(saved_momentum) == 2
    for a, b in zip(resumed, saved_momentum):
        assert torch.equal(a, b) and a.abs().sum() > 0

    # 2 + 1 resumed epochs == 3 uninterrupted epochs
    straight = make_runner(tmp_path / 'straight', 3)
    straight.train()
    for a, b in zip(runner.model.parameters(), straight.model.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-7)


class Opaque:
    pass


def test_unknown_objects_are_still_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'meta': Opaque()}, path)
    with pytest.raises(CheckpointError, match='allow_checkpoint_globals'):
        load_local_checkpoint(str(path))


def test_remote_urls_keep_mmengine_loaders():
    local = CheckpointLoader._get_checkpoint_loader('/tmp/x.pth')
    remote = CheckpointLoader._get_checkpoint_loader('https://host/x.pth')
    assert local is load_local_checkpoint
    assert remote is not load_local_checkpoint
