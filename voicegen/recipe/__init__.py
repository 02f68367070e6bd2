"""Training recipes: discovery (``recipe.yaml``), stage-0 downloads and stage-1 data preparation.

The recipes themselves (``recipes/<name>/run.sh`` with numbered stages, ``conf/*.yaml``, README)
live in the source repository; this package is what their stages and ``voicegen recipe`` call:

* :mod:`voicegen.recipe.manifest` — :class:`RecipeInfo` / :class:`DownloadItem` from ``recipe.yaml``,
  :func:`find_recipes`, :func:`find_recipe`, :func:`default_root`;
* :mod:`voicegen.recipe.download` — :func:`fetch` / :func:`fetch_all`: resumable download, checksum
  verification, safe extraction;
* :mod:`voicegen.recipe.prepare` — :func:`prepare_folder`: select, split, link or resample files;
* :mod:`voicegen.recipe.images` — :func:`prepare_digits`: MNIST's IDX files and the UCI optical
  digits as the image recipes' ``.npz`` arrays (numpy; imported by its command only).

Importing this package stays torch-free (``voicegen recipe list`` must answer quickly).
"""

from voicegen.recipe.manifest import (
    DataInfo,
    DownloadItem,
    RecipeInfo,
    default_root,
    find_recipe,
    find_recipes,
    load_manifest,
    load_recipe,
)

__all__ = [
    "DataInfo",
    "DownloadItem",
    "RecipeInfo",
    "default_root",
    "find_recipe",
    "find_recipes",
    "load_manifest",
    "load_recipe",
]
