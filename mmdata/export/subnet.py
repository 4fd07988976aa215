"""Export a searched subnet: plain backbone weights, its arch and a ready
fine-tuning config of mmdet / mmseg / mmpretrain."""
import os
import os.path as osp
import shutil
import tempfile
from typing import Dict, Union

import torch
import yaml

from mmdata.errors import CheckpointError, ConfigError, UserError, WorkDirError
from mmdata.models.backbones import (build_subnet, export_subnet_state_dict,
                                     slice_state_dict)
from mmdata.models.supernet_checkpoint import load_supernet_backbone
from mmdata.search.outputs import read_best, search_file
from mmdata.search.store import read_identity
from mmdata.space import Arch, arch_cost
from mmdata.utils import file_sha256
from .onnx import export_onnx
from .tasks import TASKS, copy_protocol, render_config


def searched_checkpoint_sha256(search_dir: str) -> str:
    """The sha256 of the checkpoint a search (``progress/identity.json``)
    or a selection on it (``selection.json``) measured."""
    if osp.isfile(osp.join(search_dir, 'selection.json')):
        path = osp.join(search_dir, 'selection.json')
    else:
        path = search_file(search_dir, osp.join('progress', 'identity.json'))
    try:
        return read_identity(path)['checkpoint_sha256']
    except (WorkDirError, KeyError) as err:
        raise UserError(f'{path} is damaged ({type(err).__name__}); rerun '
                        'the search, or pass --force to export anyway')


def check_search_checkpoint(search_dir: str, checkpoint: str) -> None:
    """Refuse to export a search's (or a selection's) picks from another
    checkpoint than the one it measured."""
    searched = searched_checkpoint_sha256(search_dir)
    current = file_sha256(checkpoint)
    if searched != current:
        raise CheckpointError(
            f'{search_dir} searched another checkpoint (sha256 '
            f'{str(searched)[:12]}…) than {checkpoint} ({current[:12]}…): '
            'export with the searched checkpoint, or pass --force')


def arch_from_search(search_dir: str, bin_name: str) -> Arch:
    """The best arch of bin ``bin_name`` in a search's ``best.yaml``."""
    return Arch.parse(read_best(search_dir, bin_name)['arch'])


def read_arch(value: str) -> Arch:
    """An :class:`Arch` from an ``arch.yaml`` written by
    :func:`export_subnet` or from the paper notation."""
    if _looks_like_path(value):
        if osp.isdir(value):
            raise UserError(f'arch file {value} is a directory (pass an '
                            'arch.yaml or the paper notation)')
        if not osp.isfile(value):
            raise UserError(f'arch file {value} does not exist (pass an '
                            'arch.yaml or the paper notation "Depth [..] '
                            'Width [..]")')
        with open(value) as f:
            text = f.read()
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            raise UserError(f'{value} is not valid YAML (an arch.yaml '
                            'written by the export)')
        if isinstance(data, dict) and isinstance(data.get('arch'), str):
            return Arch.parse(data['arch'])
        if not isinstance(data, dict):
            raise UserError(f'{value} holds no arch (an arch.yaml written by '
                            'the export)')
        return Arch.from_any(data)
    return Arch.from_any(value)


def _looks_like_path(value: str) -> bool:
    return osp.exists(value) or value.endswith(('.yaml', '.yml', '.json')) \
        or os.sep in value and '[' not in value


def write_weights(state: dict, arch: Arch, num_stages: int,
                  folder: str) -> None:
    """``backbone.pth`` (the first ``num_stages`` stages) and, for a
    detector's ROI head, ``res_layer.pth`` (the next stage)."""
    torch.save(
        export_subnet_state_dict(state, arch, num_stages),
        osp.join(folder, 'backbone.pth'))
    if num_stages < 4:
        from mmdata.models.backbones import SubnetResLayer
        with torch.device('meta'):
            head = SubnetResLayer(arch, stage=num_stages)
        torch.save(
            slice_state_dict(state, head), osp.join(folder, 'res_layer.pth'))


def export_subnet(checkpoint: str,
                  arch: Union[Arch, str, dict],
                  task: str,
                  out_dir: str,
                  source: str = 'student',
                  overwrite: bool = False,
                  onnx: bool = False) -> Dict[str, str]:
    """Write ``backbone.pth``, ``arch.yaml``, the task's config and a copy
    of its shipped protocol config (``_base_/``) to ``out_dir`` (all or
    nothing: files are written to a temporary folder that is renamed at
    the end).

    Args:
        checkpoint (str): Supernet checkpoint of an mmdata SSL algorithm.
        arch (Arch | str | dict): The subnet (validated against the
            checkpoint's space).
        task (str): One of :data:`mmdata.export.tasks.TASKS`.
        out_dir (str): Output folder (must not exist unless ``overwrite``).
        source (str): ``'student'`` (supernet) or ``'teacher'`` (EMA).
        overwrite (bool): Replace an existing ``out_dir``.
        onnx (bool): Also write ``backbone.onnx``: the 4-stage static
            backbone at 224 px with a dynamic batch axis, outputs
            ``stage1`` ... ``stage4``.

    Returns:
        dict: Paths of the written files.
    """
    if task not in TASKS:
        raise ConfigError(f'unknown task {task!r}: choose one of '
                          f'{sorted(TASKS)}')
    if osp.exists(out_dir) and not overwrite:
        raise WorkDirError(f'{out_dir} exists; pass overwrite=True '
                           '(--overwrite) to replace it')
    spec = TASKS[task]
    state, space = load_supernet_backbone(checkpoint, source)
    arch = space.validate(Arch.from_any(arch))
    cost = arch_cost(arch, 224)

    parent = osp.dirname(osp.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='.export-', dir=parent)
    try:
        write_weights(state, arch, spec['num_stages'], tmp)
        info = dict(
            arch=str(arch),
            **arch.to_dict(),
            flops=cost.flops,
            params=cost.params,
            input_size=224,
            task=task,
            checkpoint=osp.abspath(checkpoint),
            source=source)
        with open(osp.join(tmp, 'arch.yaml'), 'w') as f:
            yaml.safe_dump(info, f, sort_keys=False)
        copy_protocol(task, tmp)
        with open(osp.join(tmp, spec['config']), 'w') as f:
            f.write(
                render_config(task, arch, cost.flops, cost.params,
                              osp.join(out_dir, spec['config'])))
        if onnx:
            model = build_subnet(state, arch, out_indices=(0, 1, 2, 3))
            export_onnx(model.eval(), osp.join(tmp, 'backbone.onnx'))
        if osp.exists(out_dir):
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    files = [
        'backbone.pth', 'arch.yaml', spec['config'],
        f"_base_/{osp.basename(spec['base'])}"
    ]
    if spec['num_stages'] < 4:
        files.insert(1, 'res_layer.pth')
    if onnx:
        files.append('backbone.onnx')
    return {name: osp.join(out_dir, name) for name in files}
