"""A menu document's own prompt texts laid over the catalogues, for calls under that menu version."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from prompts import Catalogue, PromptText

# Prompts the call flow speaks while the caller walks the menu (besides each node's own): a menu
# document may reword these too. Queue, voicemail and rescue prompts are spoken outside the menu's
# version (the wait page knows no version), so they stay in prompts/*.toml.
MENU_FLOW_PROMPTS = ("invalid_choice", "no_input", "transfer_general")


def with_document_prompts(
    catalogues: Mapping[str, Catalogue], texts: Mapping[str, Mapping[str, str]]
) -> dict[str, Catalogue]:
    """The catalogues with the document's texts (key -> language -> text) replacing or adding prompts."""
    merged = dict(catalogues)
    if not texts:
        return merged
    for language, catalogue in catalogues.items():
        extra = {key: PromptText(text=by[language]) for key, by in texts.items() if language in by}
        if extra:
            merged[language] = replace(catalogue, prompts={**catalogue.prompts, **extra})
    return merged
