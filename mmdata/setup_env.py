"""Registration helpers, as in other OpenMMLab 2.0 projects."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Register all mmdata modules and optionally make ``mmdata`` the scope.

    Args:
        init_default_scope (bool): Whether to set the default scope to
            ``mmdata``, so unprefixed types are looked up in mmdata first.
    """
    import mmdata.engine  # noqa: F401,F403
    import mmdata.models  # noqa: F401,F403

    if not init_default_scope:
        return
    never_created = DefaultScope.get_current_instance() is None \
        or not DefaultScope.check_instance_created('mmdata')
    if never_created:
        DefaultScope.get_instance('mmdata', scope_name='mmdata')
        return
    current_scope = DefaultScope.get_current_instance()
    if current_scope.scope_name != 'mmdata':
        warnings.warn('The current default scope '
                      f'"{current_scope.scope_name}" is not "mmdata", '
                      '`register_all_modules` will force the current '
                      'default scope to be "mmdata".')
        new_instance_name = f'mmdata-{datetime.datetime.now()}'
        DefaultScope.get_instance(new_instance_name, scope_name='mmdata')
