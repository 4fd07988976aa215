"""Setup for mmdata, packaging configs/ and tools/ into mmdata/.mim as
OpenMMLab repos do."""
import os
import os.path as osp
import shutil
import sys
from setuptools import find_packages, setup

MIM_ITEMS = ('configs', 'tools')


def read_version() -> str:
    namespace: dict = {}
    with open(osp.join('mmdata', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


def read_requirements(path: str) -> list:
    with open(path) as f:
        return [
            line.strip() for line in f
            if line.strip() and not line.startswith(('#', '-'))
        ]


def add_mim_extension() -> None:
    """Link (editable install) or copy (wheel/sdist) configs and tools to
    mmdata/.mim."""
    if 'develop' in sys.argv or 'editable_wheel' in sys.argv:
        mode = 'symlink'
    elif any(
            cmd in sys.argv
            for cmd in ('sdist', 'bdist_wheel', 'install', 'build')):
        mode = 'copy'
    else:
        return
    repo = osp.dirname(osp.abspath(__file__))
    mim_dir = osp.join(repo, 'mmdata', '.mim')
    os.makedirs(mim_dir, exist_ok=True)
    for item in MIM_ITEMS:
        src, dst = osp.join(repo, item), osp.join(mim_dir, item)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim_dir), dst)
        else:
            shutil.copytree(src, dst)


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='mmdata',
        version=read_version(),
        description='DATA: domain-aware and task-aware self-supervised '
        'supernet training and label-free subnet search for OpenMMLab 2.0',
        long_description=open('README.md').read(),
        long_description_content_type='text/markdown',
        packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs')),
        include_package_data=True,
        package_data={'mmdata': ['.mim/configs/**/*', '.mim/tools/**/*']},
        python_requires='>=3.8',
        # torch itself is installed from requirements/torch.txt; >= 2.5 for
        # torch.serialization.safe_globals (mmdata.utils.checkpoint)
        install_requires=read_requirements('requirements/runtime.txt') +
        ['torch>=2.5'],
        license='Apache License 2.0',
        zip_safe=False,
    )
