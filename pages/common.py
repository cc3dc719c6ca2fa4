"""The names most pages use, gathered from :mod:`pages._lib` (their home, by concept).

Kept as one import for the pages: ``from pages import common`` then ``common.seed()``,
``common.show_error(exc)``, ``common.poll_job_panel(...)``. New code may import the concept's
module directly (``pages._lib.choices``, ``routing``, ``demo``, ``loaders``, ``jobs``, ``errors``).
"""

from __future__ import annotations

from pages import upgrade_panel
from pages._lib.choices import (
    ENCODER_CHOICES,
    PATH_KEYS,
    PRESENTING,
    SAVED_VIEW,
    SIDEBAR_KEYS,
    SOURCES,
    UPLOAD_TYPES,
    builtin_limit,
    demo_mode,
    encoder_choice,
    encoder_name,
    path_input,
    presenting,
    seed,
    server_path,
    server_paths_allowed,
    switch_encoder,
    use_encoder,
)
from pages._lib.demo import DEMO_NOTES, page_header
from pages._lib.errors import show_error
from pages._lib.jobs import PolledJob, job_running, poll_job_panel
from pages._lib.loaders import (
    baseline_cache,
    baseline_extractor,
    builtin_corpus,
    corpus_source,
    default_k,
    encoder,
    forget_encoder,
    map_figure,
    map_memo,
    map_settings,
    set_map_overrides,
    warm_encoder,
)
from pages._lib.routing import (
    keep_view_now,
    keep_views,
    kept_key,
    leave_pages_directory_mode,
    link_warning,
    restore_link,
    share_view,
)

#: the corpus map for the sidebar's corpus and the map settings (memory, disk cache, else built with progress;
#: a static map first while MiniLM embeds in the background)
corpus_map = upgrade_panel.corpus_map

__all__ = [
    "DEMO_NOTES", "ENCODER_CHOICES", "PATH_KEYS", "PRESENTING", "SAVED_VIEW", "SIDEBAR_KEYS", "SOURCES",
    "UPLOAD_TYPES", "PolledJob", "baseline_cache", "baseline_extractor", "builtin_corpus", "builtin_limit",
    "corpus_map", "corpus_source", "default_k", "demo_mode", "encoder", "encoder_choice", "encoder_name",
    "forget_encoder", "job_running", "keep_view_now", "keep_views", "kept_key", "leave_pages_directory_mode",
    "link_warning", "map_figure", "map_memo", "map_settings", "page_header", "path_input", "poll_job_panel",
    "presenting", "restore_link", "seed", "server_path", "server_paths_allowed", "set_map_overrides",
    "share_view", "show_error", "switch_encoder", "use_encoder", "warm_encoder",
]
