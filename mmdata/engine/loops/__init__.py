from .search_loop import SearchLoop

__all__ = ['SearchLoop']
