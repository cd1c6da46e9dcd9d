"""Make mkdocstrings render in the language being built.

mkdocs-static-i18n builds the default language, then rebuilds the site once per other
language, switching `theme.language` in its own `on_config` (priority -100). mkdocstrings
reads `theme.language` in its `on_config` (priority 0), before that switch, so the English
API pages would get Chinese section titles ("参数："). This hook runs first and sets the
language the i18n plugin is about to build.
"""

from mkdocs.plugins import event_priority


@event_priority(100)
def on_config(config):
    i18n = config.plugins.get("i18n")
    if i18n is None:
        return config
    language = i18n.current_language or i18n.default_language
    config.theme["language"] = language
    return config
