"""Figure styling shared by every notebook; one module per figure group beside this file."""

from sail.plots.style import apply_style, save_figure

__all__ = ["apply_style", "save_figure"]
